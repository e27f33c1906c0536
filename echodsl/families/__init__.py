"""The memory-family registry: one entry per storage variant, one package per family (torch-free).

Adding a family is one new package under this one and one line in ``FAMILIES``. The
package's ``__init__`` holds its typed config, its part of the language (the storage
variant's arguments, default read-out, the read-outs that can read it), lowering, token and
parameter arithmetic, write policy and builder; its torch modules sit beside it in the
package and are imported only by ``build``. The language schema, lowering, building, the
sampler, rollouts and evaluation look families up here instead of testing storage names.
"""

from __future__ import annotations

from echodsl.errors import BuildError
from echodsl.families import frames, none, state, summary
from echodsl.families.base import Family, Profile, StorageConfig
from echodsl.families.readouts import READOUTS, ReadoutKind, ReadoutPlan
from echodsl.presets import BackboneConfig

FAMILIES: dict[str, Family] = {
    "none": none.FAMILY,
    "frames": frames.FAMILY,
    "summary": summary.FAMILY,
    "state": state.FAMILY,
}

def family_of(kind: str) -> Family:
    """The family implementing ``storage <kind>``."""
    try:
        return FAMILIES[kind]
    except KeyError:
        raise BuildError(f"no memory family implements storage {kind!r}; known: {', '.join(FAMILIES)}") from None


def readout_of(kind: str) -> ReadoutKind:
    try:
        return READOUTS[kind]
    except KeyError:
        raise BuildError(f"unknown read-out {kind!r}; known: {', '.join(READOUTS)}") from None


def lower_memory(profile: Profile, backbone: BackboneConfig) -> tuple[StorageConfig, ReadoutPlan]:
    """The profile's storage configuration and read-out plan on ``backbone``."""
    family = family_of(profile.storage.variant)
    storage = family.lower(profile, backbone)
    kind = profile.readout.variant
    attach = () if kind == "none" else family.attach(storage, profile, backbone)
    return storage, ReadoutPlan(kind, profile.settings.readout, attach)


def token_counts(storage: StorageConfig, readout: ReadoutPlan, backbone: BackboneConfig) -> tuple[int, int]:
    """(tokens one memory read holds, of those the ones joined to the self-attention sequence)."""
    tokens = FAMILIES[storage.kind].tokens(storage, backbone)
    return tokens, tokens if readout_of(readout.kind).joins_sequence else 0


def memory_parameters(storage: StorageConfig, readout: ReadoutPlan, backbone: BackboneConfig) -> int:
    """Trainable parameters of the memory modules ``build_memory`` makes (a read-out is
    built only where it attaches somewhere, and then a storage module always exists)."""
    family = FAMILIES[storage.kind]
    count = family.parameters(storage, backbone)
    if readout.attach:
        count += readout_of(readout.kind).parameters(readout, family.width(storage, backbone), backbone)
    return count


def build_memory(storage: StorageConfig, readout: ReadoutPlan, backbone: BackboneConfig,
                 action_inject: str | None = None):
    """(storage module or None, read-out module or None). Imports torch."""
    family = FAMILIES[storage.kind]
    module = family.build(storage, backbone)
    if module is None or not readout.attach:
        return module, None
    return module, readout_of(readout.kind).build(readout, family.width(storage, backbone), backbone, action_inject)


def sequence_tokens(profile: Profile, backbone: BackboneConfig) -> int:
    """Tokens one training forward pass holds: the segment's frames plus joined memory."""
    storage, readout = lower_memory(profile, backbone)
    return backbone.segment_frames * backbone.tokens_per_frame + token_counts(storage, readout, backbone)[1]



__all__ = ["FAMILIES", "READOUTS", "Family", "ReadoutPlan", "StorageConfig", "build_memory",
           "family_of", "lower_memory", "memory_parameters", "readout_of", "sequence_tokens", "token_counts"]
