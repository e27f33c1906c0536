"""Lowering: a resolved ``Profile`` → a ``MemoryPlan``, the plain description of what to build.

The plan says what is stored (and how the data sampler picks it), how many tokens the
memory holds, where read-outs attach and how many parameters the memory adds. It holds
no tensors; ``build`` turns it into modules.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from echodsl.lang.model import Profile
from echodsl.families import (ReadoutPlan, StorageConfig, family_of, lower_memory, memory_parameters,
                                     readout_of, token_counts)
from echodsl.presets import BackboneConfig, backbone_config

# Bump when lowering or any memory module changes what a profile builds.
LOWERING_VERSION = "3"  # 2: ungated joint read-out, memory frames take the targets' camera conditioning; 3: one history (k, select) for every family, moc


@dataclass(frozen=True)
class MemoryPlan:
    """Everything ``build`` and the data sampler need to know about one profile.

    ``storage`` is the family's own typed configuration (a tagged union over the storage
    variants, ``storage.kind``); ``readout`` says how and where the targets read it.
    """

    profile: str
    spec_hash: str
    family: str  # i2v | context | compression | spatial | state
    backbone: BackboneConfig
    storage: StorageConfig  # FramesMemory | SummaryMemory | StateMemory | NoMemory
    readout: ReadoutPlan
    action: str  # relative_rt | none
    action_inject: str | None  # pre_norm | post_attn
    memory_tokens: int  # tokens the memory holds for one read (0 for storage none)
    sequence_tokens: int  # of those, tokens joined to the self-attention sequence (joint read-out)
    param_budget: int  # trainable memory parameters
    lowering_version: str = LOWERING_VERSION
    notes: tuple[str, ...] = field(default=())

    @property
    def memory_frames(self) -> int:
        """M frames the sampler provides per sample."""
        return self.storage.memory_frames

    @property
    def attach(self) -> tuple[int, ...]:
        return self.readout.attach

    @property
    def tokens_per_frame(self) -> int:
        return self.backbone.tokens_per_frame

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["backbone"] = {"preset": self.backbone.preset, "source": self.backbone.source}
        data["storage"] = self.storage.to_json()
        data["readout"] = self.readout.to_json()
        return data


def lower(profile: Profile, backbone: BackboneConfig | str = "tiny") -> MemoryPlan:
    """The plan of ``profile`` on ``backbone`` (a resolved geometry, or a preset's name).

    Pure arithmetic: no torch, nothing built. Each family lowers its own storage clause;
    token and parameter counts come from the family's arithmetic.
    """
    bb = backbone_config(backbone) if isinstance(backbone, str) else backbone
    storage, readout = lower_memory(profile, bb)
    readout_of(readout.kind).check(readout, bb, profile.name)
    tokens, joined = token_counts(storage, readout, bb)
    return MemoryPlan(
        profile=profile.name, spec_hash=profile.spec_hash, family=family_of(storage.kind).name(profile), backbone=bb,
        storage=storage, readout=readout, action=profile.action.variant, action_inject=profile.settings.action.inject,
        memory_tokens=tokens, sequence_tokens=joined, param_budget=memory_parameters(storage, readout, bb),
    )


def build_hash(grammar_version: str | None = None) -> str:
    """sha256 over what turns the same spec into different modules: grammar, lowering, torch, diffusers."""
    import diffusers
    import torch

    if grammar_version is None:
        from echodsl.lang.parser import GRAMMAR_VERSION as grammar_version
    data = {"grammar": grammar_version, "lowering": LOWERING_VERSION, "torch": torch.__version__,
            "diffusers": diffusers.__version__}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
