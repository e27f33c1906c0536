"""Sequence-length arithmetic for the token-budget warning, without importing torch.

The language layer must warn about an over-long design in a pre-commit hook, where
loading the model is not an option. The numbers come from the one preset table and the
memory families' own token arithmetic, the same the compiler's plans use.
"""

from __future__ import annotations

from echodsl.lang.model import Profile
from echodsl.families import sequence_tokens as _sequence_tokens
from echodsl.presets import backbone_config


def sequence_tokens(profile: Profile, preset: str) -> tuple[int, int]:
    """(tokens in one forward pass, the preset's budget)."""
    backbone = backbone_config(preset)
    return _sequence_tokens(profile, backbone), backbone.max_tokens
