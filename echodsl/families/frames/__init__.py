"""``storage frames``: K - 1 retrieved frames as patch tokens, optionally compressed
(``storage``: the module; ``compression``: the pooling and mixture-of-contexts modules).

The study's context family (no compression) and compression family (``weights``,
``length``, ``hybrid`` or the parameter-free ``moc``). The memory is rewritten every chunk
from the history the trainer's sampler would give it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from echodsl.families.base import Family, StorageConfig, linear, pose_embedding
from echodsl.families.history import HISTORY

POOLING = ("length", "hybrid")  # compressions that pool r:1 in time
WEIGHTING = ("weights", "hybrid")  # compressions that re-weight stored frames


@dataclass(frozen=True)
class FramesMemory(StorageConfig):
    kind: ClassVar[str] = "frames"
    compression: str  # none | weights | length | hybrid | moc
    ratio: int | None  # r of length/hybrid pooling
    slots: int  # stored slots after compression: ceil(M / r) when pooled
    temperature: float | None  # moc: softmax temperature over frame similarities
    top: int | None  # moc: frames kept (0: all)

    @property
    def pool_ratio(self) -> int:
        return self.ratio if self.compression in POOLING else 1


class FramesFamily(Family):
    storage = "frames"
    config = FramesMemory
    arguments = {**HISTORY}
    default_readout = {"variant": "joint", "args": {"placement": "suffix", "gate": "none"}}
    readouts = ("joint", "cross_attention")
    compresses = True

    def name(self, profile) -> str:
        return "context" if profile.compression.variant == "none" else "compression"

    def lower(self, profile, backbone) -> FramesMemory:
        history = self.history(profile)
        frames = history["memory_frames"]
        settings = profile.settings.compression
        compression = settings.variant
        ratio = settings.ratio if compression in POOLING else None
        slots = math.ceil(frames / ratio) if compression in POOLING else frames
        moc = compression == "moc"
        return FramesMemory(**history, compression=compression, ratio=ratio, slots=slots,
                            temperature=settings.temperature if moc else None, top=settings.top if moc else None)

    def tokens(self, config: FramesMemory, backbone) -> int:
        return config.slots * backbone.tokens_per_frame

    def attach(self, config: FramesMemory, profile, backbone) -> tuple[int, ...]:
        return tuple(range(backbone.num_layers)) if config.memory_frames else ()

    def parameters(self, config: FramesMemory, backbone) -> int:
        if not config.memory_frames:
            return 0
        d = backbone.dim
        count = pose_embedding(d, config.memory_frames)
        if config.compression in POOLING:
            count += config.ratio + linear(d, 1)  # position prior + score
        if config.compression in WEIGHTING:
            count += linear(d, 1)
        return count

    def build(self, config: FramesMemory, backbone):
        if not config.memory_frames:
            return None
        from echodsl.families.frames.compression import Compression, CompressionConfig, MixtureOfContexts
        from echodsl.families.frames.storage import FramesStorage, FramesStorageConfig

        d = backbone.dim
        compression = None if config.compression in ("none", "moc") else Compression(
            CompressionConfig(config.compression, d, config.ratio or 1))
        mixture = MixtureOfContexts(config.temperature, config.top) if config.compression == "moc" else None
        return FramesStorage(FramesStorageConfig(d, config.memory_frames, backbone.tokens_per_frame, backbone.grid,
                                                 backbone.fov_deg), compression, mixture)


FAMILY = FramesFamily()
