"""What every memory family provides, and the parameter arithmetic they share (torch-free).

A family is one storage variant of the language (``storage none | frames | summary |
state``). Its package's ``__init__`` defines a typed, frozen configuration (the family's
part of a ``MemoryPlan``) and a ``Family`` object that declares its part of the language
(the storage variant's arguments, its default read-out, the read-outs that can read it,
whether compression and recurrence apply) and knows how to

* ``lower`` a resolved profile on a backbone geometry to that configuration,
* count the tokens one read of the memory holds and the trainable parameters its storage
  module adds (plain arithmetic: the language layer's token-budget warning and ``explain``
  use it without torch; a compiler test checks it against the built modules),
* say which blocks its read-out attaches to,
* ``build`` its storage module (torch is imported only there: the package's torch
  modules, e.g. its ``storage`` module, are imported inside ``build``),
* and how it is written across the chunks of a rollout (``carries``).

Letters: D model width, E memory width, M memory frames, n tokens per frame.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Protocol

from echodsl.errors import BuildError
from echodsl.params import Param
from echodsl.presets import RAY_FEATURES, BackboneConfig


class Profile(Protocol):
    """A resolved profile as the families read it (``echodsl.lang.model.Profile``; the
    language layer depends on this registry, never the other way round)."""

    name: str
    storage: Any  # each clause a Variant (.variant names it); lowering reads only ``settings``
    compression: Any
    readout: Any
    recurrence: Any
    settings: Any  # the clauses as typed settings: settings.storage.k, settings.recurrence.every


@dataclass(frozen=True)
class StorageConfig:
    """Base of the tagged union a ``MemoryPlan`` holds; ``kind`` is the storage variant.

    The history fields say which past frames the data sampler (and, identically, every
    rollout chunk) gives the memory: ``memory_frames`` of them chosen by ``select`` among
    every frame before the segment. Every storage family reads its history this way.
    """

    kind: ClassVar[str] = ""
    memory_frames: int  # M frames the sampler provides per sample (k - 1)
    select: str  # fov | recent | uniform | tail
    samples: int  # fov: points sampled in the target frusta
    recency: float  # fov: weight of recency in the tie-break
    key: str  # fov: middle (the segment's middle frame) | targets (every target)
    overlap: str  # fov: symmetric | bounded | unbounded (see data/retriever.py)
    far: float  # fov: far limit of the compared frusta, metres
    # True: the memory is written oldest -> newest whatever order ``select`` gives (a scan).
    chronological: bool = field(default=False, kw_only=True)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


def history_fields(profile: Profile) -> dict[str, Any]:
    """The ``StorageConfig`` history fields of ``profile``'s storage clause (k, select)."""
    storage = profile.settings.storage
    fov = storage.select.fov  # a select other than fov records fov's defaults, unused
    return {"memory_frames": storage.k - 1,  # the anchor is the segment's own frame 0
            "select": storage.select.variant, "samples": fov.samples, "recency": fov.recency,
            "key": fov.key, "overlap": fov.overlap, "far": fov.far}


class Family(ABC):
    """One storage family. Subclasses set ``storage`` and ``config``, define ``name`` and
    ``lower``, and override the arithmetic and ``build`` where the defaults do not fit."""

    storage: ClassVar[str]
    config: ClassVar[type[StorageConfig]]
    # The language side: ``storage <name>(...)``'s arguments, the read-out a profile that
    # writes none gets, the read-outs that can read this memory, and whether a
    # ``compression`` / ``recurrence`` clause other than ``none`` applies to it.
    arguments: ClassVar[dict[str, Param]] = {}
    default_readout: ClassVar[dict[str, Any]] = {"variant": "none", "args": {}}
    readouts: ClassVar[tuple[str, ...]] = ()
    compresses: ClassVar[bool] = False
    recurrent: ClassVar[bool] = False
    # True: the memory is written oldest -> newest whatever order ``select`` gives (a scan).
    scans: ClassVar[bool] = False
    # True for the design that remembers nothing beyond its anchor frame: the floor every
    # memory design is compared to (``results compare --baseline auto``).
    anchor_only: ClassVar[bool] = False

    def history(self, profile: Profile) -> dict[str, Any]:
        """The ``StorageConfig`` history fields of ``profile`` for this family: which frames
        (``history_fields``) and, from ``scans``, whether they are written in time order."""
        return {**history_fields(profile), "chronological": self.scans}

    @abstractmethod
    def name(self, profile: Profile) -> str:
        """The study's family of ``profile``: i2v, context, compression, spatial or state."""

    @abstractmethod
    def lower(self, profile: Profile, backbone: BackboneConfig) -> StorageConfig:
        """This family's config for ``profile`` on ``backbone``."""

    def carries(self, config: StorageConfig) -> bool:
        """Write policy across the chunks of a rollout. False (every family by default): each
        chunk writes its memory anew from the history the trainer's sampler would give it.
        True: each chunk folds only the frames new since the last chunk into a carried state."""
        return False

    def tokens(self, config: StorageConfig, backbone: BackboneConfig) -> int:
        """Tokens one read of the memory holds."""
        return 0

    def width(self, config: StorageConfig, backbone: BackboneConfig) -> int:
        """Width of the memory tokens the read-out consumes."""
        return backbone.dim

    def attach(self, config: StorageConfig, profile: Profile, backbone: BackboneConfig) -> tuple[int, ...]:
        """Blocks a read-out of this memory touches (the read-out ``none`` touches none)."""
        return tuple(range(backbone.num_layers))

    def parameters(self, config: StorageConfig, backbone: BackboneConfig) -> int:
        """Trainable parameters of the storage module (0 when none is built)."""
        return 0

    def build(self, config: StorageConfig, backbone: BackboneConfig) -> Any:
        """The storage module (a ``torch.nn.Module``), or None."""
        return None


def reject_compression(profile: Profile) -> None:
    """Compression pools stored frames: only the frames family has any."""
    if profile.compression.variant != "none":
        raise BuildError(f"compression {profile.compression.variant} requires storage frames", profile=profile.name)


def linear(fan_in: int, fan_out: int) -> int:
    """Parameters of ``nn.Linear(fan_in, fan_out)`` with bias."""
    return fan_in * fan_out + fan_out


def layer_norm(dim: int) -> int:
    return 2 * dim


def pose_embedding(dim: int, max_frames: int) -> int:
    """``memory.base.PoseEmbedding``: a ray MLP (linear, SiLU, linear) plus a frame-index table."""
    return linear(RAY_FEATURES, dim) + linear(dim, dim) + max(max_frames, 1) * dim
