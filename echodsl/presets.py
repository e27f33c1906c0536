"""Backbone presets: the one table of geometries every layer reads (torch-free).

A preset fixes everything the study holds constant across memory designs: the frame and
latent geometry, the codec, the DiT's width and depth, the segment length, the frame
stride. The language layer (token-budget
warning, the ``wan(preset = ...)`` choices), the data layer (frame size, stride, codec),
the compiler and the runner all read this table; nothing keeps a copy.

The ``wan2_1_1_3b`` entry carries the public Wan2.1-T2V-1.3B transformer config; a local
``config.json`` (or its directory) may replace those numbers. Nothing is downloaded.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from echodsl.errors import BuildError

PRESETS: dict[str, dict[str, Any]] = {
    "tiny": dict(
        codec="pixels", frame_hw=(32, 32), frame_stride=1, latent_channels=3, latent_hw=(32, 32), patch_size=(1, 4, 4),
        num_attention_heads=4, attention_head_dim=32, ffn_dim=256, num_layers=4,
        text_dim=32, text_len=8, freq_dim=64, segment_frames=5, max_tokens=2048,
    ),
    "small": dict(
        codec="pixels", frame_hw=(64, 64), frame_stride=1, latent_channels=3, latent_hw=(64, 64), patch_size=(1, 4, 4),
        num_attention_heads=4, attention_head_dim=64, ffn_dim=1024, num_layers=8,
        text_dim=64, text_len=16, freq_dim=128, segment_frames=9, max_tokens=8192,
    ),
    # Takes frames 0, 4, ..., 80 of each 81-frame window, like the study's code; the VAE
    # compresses 352x640 frames 8x spatially.
    "wan2_1_1_3b": dict(
        codec="wan", frame_hw=(352, 640), frame_stride=4, latent_channels=16, latent_hw=(44, 80), patch_size=(1, 2, 2),
        num_attention_heads=12, attention_head_dim=128, ffn_dim=8960, num_layers=30,
        text_dim=4096, text_len=512, freq_dim=256, segment_frames=21, max_tokens=40960,
    ),
}

# Evaluation sizes a preset defaults to (``echodsl.eval.plan.EvalSizes``); a preset not
# listed takes EvalConfig's own, the study's 8 cases per row. The tiny preset is sized
# for a CPU: fewer replay cases, 3 chunks of 2 Euler steps. Two steps, not more: a tiny
# backbone trained for a few thousand CPU steps still leaves some of the noise in each
# velocity it predicts, and every further step adds some back. Measured on one chunk of
# training segments after 600/700/1000 pretraining steps: 2 steps scored +0.8 dB PSNR
# and +0.02-0.04 SSIM over 6 (and 12 steps did worse again), at a third of the cost.
EVAL_DEFAULTS: dict[str, dict[str, int]] = {
    "tiny": {"replay_cases": 4, "return_cases": 8, "write_cases": 8, "chunks": 3, "steps": 2},
}

# Per-token camera-ray features every camera conditioning uses (echodsl/backbone/camera.py):
# the ray direction, RAY_BANDS Fourier bands of it (sin and cos), and the translation.
RAY_BANDS = 4
RAY_FEATURES = 3 + 2 * 3 * RAY_BANDS + 3

# diffusers WanTransformer3DModel arguments a local config.json may override.
_DIT_KEYS = (
    "patch_size", "num_attention_heads", "attention_head_dim", "ffn_dim", "num_layers",
    "text_dim", "freq_dim", "cross_attn_norm", "qk_norm", "eps", "rope_max_seq_len",
)


@dataclass(frozen=True)
class BackboneConfig:
    """The resolved geometry of one backbone (a preset, possibly with a local config)."""

    preset: str
    codec: str  # "pixels" (identity) or "wan" (the Wan VAE); the data layer owns the codec itself
    frame_hw: tuple[int, int]  # (H, W) of the frames the data layer renders or reads
    frame_stride: int  # source frames between two frames of a training segment
    latent_channels: int
    latent_hw: tuple[int, int]
    patch_size: tuple[int, int, int]
    num_attention_heads: int
    attention_head_dim: int
    ffn_dim: int
    num_layers: int
    text_dim: int
    text_len: int  # caption tokens per sample
    freq_dim: int
    segment_frames: int  # anchor + generated frames in one training segment
    max_tokens: int
    cross_attn_norm: bool = True
    qk_norm: str = "rms_norm_across_heads"
    eps: float = 1e-6
    rope_max_seq_len: int = 1024
    fov_deg: float = 90.0  # horizontal field of view the per-token camera rays assume
    text_encoder: str | None = None  # a local umT5 folder (wan(text_encoder = ...)); None: hashed captions
    source: str = field(default="preset")  # "preset" or the config file read

    @property
    def dim(self) -> int:
        return self.num_attention_heads * self.attention_head_dim

    @property
    def grid(self) -> tuple[int, int]:
        """Latent patches per frame along (h, w)."""
        return self.latent_hw[0] // self.patch_size[1], self.latent_hw[1] // self.patch_size[2]

    @property
    def tokens_per_frame(self) -> int:
        return math.prod(self.grid)

    def dit_kwargs(self) -> dict[str, Any]:
        """Arguments of diffusers' ``WanTransformer3DModel`` (text-to-video layout: no image branch)."""
        return dict(
            patch_size=tuple(self.patch_size), num_attention_heads=self.num_attention_heads,
            attention_head_dim=self.attention_head_dim, in_channels=self.latent_channels,
            out_channels=self.latent_channels, text_dim=self.text_dim, freq_dim=self.freq_dim,
            ffn_dim=self.ffn_dim, num_layers=self.num_layers, cross_attn_norm=self.cross_attn_norm,
            qk_norm=self.qk_norm, eps=self.eps, rope_max_seq_len=self.rope_max_seq_len,
        )


def backbone_config(preset: str = "tiny", config: str | Path | None = None) -> BackboneConfig:
    """The geometry of ``preset``; ``config`` (a diffusers config.json or its directory)
    replaces the DiT's architecture numbers, keeping the preset's latent geometry."""
    if preset not in PRESETS:
        raise BuildError(f"unknown backbone preset {preset!r}; known: {', '.join(sorted(PRESETS))}")
    cfg = BackboneConfig(preset=preset, **PRESETS[preset])
    if config is None:
        return cfg
    path = Path(config)
    path = path / "config.json" if path.is_dir() else path
    if not path.is_file():
        raise BuildError(f"backbone config not found: {path} (configs are read locally, never downloaded)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BuildError(f"backbone config {path} is not a JSON file ({exc})") from None
    if not isinstance(data, dict):
        raise BuildError(f"backbone config {path} must hold a JSON object, not {type(data).__name__}")
    overrides = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k in _DIT_KEYS}
    if data.get("in_channels", cfg.latent_channels) != cfg.latent_channels:
        raise BuildError(f"{path}: in_channels {data['in_channels']} != the preset's latent channels {cfg.latent_channels}")
    return replace(cfg, source=str(path), **overrides)
