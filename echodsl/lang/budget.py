"""Sequence-length arithmetic for the token-budget warning, without importing torch.

The numbers mirror the backbone presets (``echodsl/backbone``; a compiler test keeps the
two in agreement): the language layer must warn about an over-long design in a
pre-commit hook, where loading the model is not an option.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from echodsl.lang.model import Profile


@dataclass(frozen=True)
class Geometry:
    tokens_per_frame: int  # latent patches per frame
    segment_frames: int  # anchor + generated frames in one training segment
    history_frames: int  # frames a summary or state memory reads
    max_tokens: int  # self-attention sequence the preset is sized for


GEOMETRY: dict[str, Geometry] = {
    "tiny": Geometry(tokens_per_frame=64, segment_frames=5, history_frames=8, max_tokens=2048),
    "small": Geometry(tokens_per_frame=256, segment_frames=9, history_frames=8, max_tokens=8192),
    "wan2_1_1_3b": Geometry(tokens_per_frame=880, segment_frames=21, history_frames=20, max_tokens=40960),
}


def memory_tokens(profile: Profile, geometry: Geometry) -> int:
    """Tokens the memory adds to the self-attention sequence (joint read-out only)."""
    if profile.readout.variant != "joint":
        return 0  # cross-attention, text concat and residual read-outs leave the sequence alone
    if profile.storage.variant == "summary":
        h, w = profile.storage["grid"]
        return h * w
    frames = profile.storage["k"] - 1
    if profile.compression.variant in ("length", "hybrid"):
        frames = math.ceil(frames / profile.compression["ratio"])
    return frames * geometry.tokens_per_frame


def sequence_tokens(profile: Profile, preset: str) -> tuple[int, int]:
    """(tokens in one forward pass, the preset's budget)."""
    g = GEOMETRY[preset]
    return g.segment_frames * g.tokens_per_frame + memory_tokens(profile, g), g.max_tokens
