"""Lowering: a resolved ``Profile`` → a ``MemoryPlan``, the plain description of what to build.

The plan says what is stored (and how the data sampler picks it), how many tokens the
memory holds, where read-outs attach and how many parameters the memory adds. It holds
no tensors; ``build`` turns it into modules.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from echodsl.backbone.presets import BackboneConfig, backbone_config
from echodsl.errors import BuildError
from echodsl.lang.model import Profile, Variant
from echodsl.memory.compression import CompressionConfig, compressed_slots

# Bump when lowering or any memory module changes what a profile builds.
LOWERING_VERSION = "2"  # 2: ungated joint read-out, memory frames take the targets' camera conditioning
# Read-outs of storage without an ``every`` argument attach like the grammar's default.
DEFAULT_EVERY = 4


@dataclass(frozen=True)
class MemoryPlan:
    """Everything ``build`` and the data sampler need to know about one profile."""

    profile: str
    spec_hash: str
    family: str  # i2v | context | compression | spatial | state
    backbone: BackboneConfig
    storage: str  # none | frames | summary | state
    memory_select: str | None  # fov | recent | uniform: how the sampler picks memory frames
    select_args: dict[str, Any]  # e.g. fov's samples and recency
    memory_frames: int  # M frames the sampler provides per sample
    stored_slots: int  # frames (or pooled groups) kept after compression; 0 for summary/state
    tokens_per_frame: int  # backbone tokens per frame
    memory_tokens: int  # tokens the memory holds for one read (0 for storage none)
    sequence_tokens: int  # of those, tokens joined to the self-attention sequence (joint read-out)
    compression: str
    ratio: int | None
    readout: str  # none | joint | cross_attention | text_concat | residual
    readout_args: dict[str, Any]
    recurrence: str
    recurrence_args: dict[str, Any]
    state_dim: int | None
    summary_grid: tuple[int, int] | None
    summary_pool: str | None
    attach: tuple[int, ...]  # block indices the read-out touches
    action: str  # relative_rt | none
    action_inject: str | None  # pre_norm | post_attn
    param_budget: int = 0  # trainable memory parameters
    lowering_version: str = LOWERING_VERSION
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["backbone"] = {"preset": self.backbone.preset, "source": self.backbone.source}
        return data


def _plain(args: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.to_json() if isinstance(v, Variant) else v) for k, v in args.items()}


def lower(profile: Profile, preset: str = "tiny", config: str | Path | None = None,
          backbone: BackboneConfig | None = None) -> MemoryPlan:
    """The plan of ``profile`` on a backbone (``backbone``, or ``preset``/``config``)."""
    bb = backbone or backbone_config(preset, config)
    storage, readout, rec = profile.storage, profile.readout, profile.recurrence
    n, layers = bb.tokens_per_frame, bb.num_layers
    select, select_args, frames, slots, mem_tokens = None, {}, 0, 0, 0
    state_dim = grid = pool = None
    compression = profile.compression.variant
    ratio = profile.compression.get("ratio")
    if storage.variant == "frames":
        sel = storage["select"]
        select, select_args = (sel.variant, _plain(sel.args)) if isinstance(sel, Variant) else (str(sel), {})
        frames = storage["k"] - 1
        ccfg = None if compression == "none" else CompressionConfig(compression, bb.dim, ratio or 1)
        slots = compressed_slots(frames, ccfg)
        mem_tokens = slots * n
    elif storage.variant == "summary":
        select, frames = "recent", bb.history_frames
        grid, pool = tuple(storage["grid"]), storage["pool"]
        mem_tokens = grid[0] * grid[1]
    elif storage.variant == "state":
        select, frames, state_dim = "recent", bb.history_frames, storage["dim"]
        mem_tokens = n
    if compression != "none" and storage.variant != "frames":
        raise BuildError(f"profile {profile.name}: compression {compression} requires storage frames")
    if readout.variant in ("none",) or storage.variant == "none" or (storage.variant == "frames" and frames == 0):
        attach = ()
    elif storage.variant == "state":
        every = rec.get("every", DEFAULT_EVERY)
        attach = tuple(range(0, layers, every))
    else:
        attach = tuple(range(layers))
    if readout.variant == "cross_attention" and bb.dim % readout["heads"]:
        raise BuildError(f"profile {profile.name}: model width {bb.dim} is not divisible by {readout['heads']} heads")
    plan = MemoryPlan(
        profile=profile.name, spec_hash=profile.spec_hash, family=profile.family, backbone=bb,
        storage=storage.variant, memory_select=select, select_args=select_args, memory_frames=frames,
        stored_slots=slots, tokens_per_frame=n, memory_tokens=mem_tokens,
        sequence_tokens=mem_tokens if readout.variant == "joint" else 0,
        compression=compression, ratio=ratio, readout=readout.variant, readout_args=_plain(readout.args),
        recurrence=rec.variant, recurrence_args=_plain(rec.args), state_dim=state_dim, summary_grid=grid,
        summary_pool=pool, attach=attach, action=profile.action.variant,
        action_inject=profile.action.get("inject"),
    )
    from echodsl.compiler.model import count_memory_parameters  # modules are built on the meta device

    return replace(plan, param_budget=count_memory_parameters(plan))


def build_hash(grammar_version: str | None = None) -> str:
    """sha256 over what turns the same spec into different modules: grammar, lowering, torch, diffusers."""
    import diffusers
    import torch

    if grammar_version is None:
        from echodsl.lang.parser import GRAMMAR_VERSION as grammar_version
    data = {"grammar": grammar_version, "lowering": LOWERING_VERSION, "torch": torch.__version__,
            "diffusers": diffusers.__version__}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
