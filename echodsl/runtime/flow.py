"""Flow matching as the seed trains and samples it: one definition for trainer and rollout.

Convention: ``t`` in [0, 1], ``t = 1`` pure noise; ``x_t = (1 - t) x_0 + t ε`` with
``ε ~ N(0, noise_shift²)``; the model predicts the velocity ``v = ε - x_0``. The timestep
shift maps a uniform ``u`` to ``shift·u / (1 + (shift - 1)·u)``, which spends more of
training (and of sampling) at high noise — what large video latents need (the seed uses
15). The DiT sees ``1000·t`` (Wan's timestep scale); clean frames carry 0. The recipe's
numbers (``train flow(...)``) are ``echodsl.lang.settings.TrainFlow``: ``RunConfig.flow``.

Letters: B batch, F frames, C channels, h/w latent grid.
"""

from __future__ import annotations

import torch

TIMESTEP_SCALE = 1000.0  # Wan's sinusoidal timestep embedding expects [0, 1000]


def shift_timesteps(u: torch.Tensor, shift: float) -> torch.Tensor:
    return shift * u / (1.0 + (shift - 1.0) * u)


def sample_timesteps(batch: int, shift: float, generator: torch.Generator) -> torch.Tensor:
    """Shifted training timesteps (B,), one per sample (all its target frames share it)."""
    return shift_timesteps(torch.rand(batch, generator=generator), shift)


def noise_like(x: torch.Tensor, noise_shift: float, generator: torch.Generator) -> torch.Tensor:
    return torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device) * noise_shift


def interpolate(x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """x_t for latents (B, F, C, h, w) and per-sample t (B,)."""
    t = t.to(x0)[:, None, None, None, None]
    return (1.0 - t) * x0 + t * noise


def frame_timesteps(t: torch.Tensor, frames: int) -> torch.Tensor:
    """Per-frame DiT timesteps (B, F): the anchor (frame 0) is clean, targets share t."""
    out = t[:, None].expand(t.shape[0], frames).clone() * TIMESTEP_SCALE
    out[:, 0] = 0.0
    return out


def sampling_schedule(steps: int, shift: float) -> torch.Tensor:
    """Euler grid (steps + 1,) from 1 (noise) to 0 (clean), shifted like training."""
    return shift_timesteps(torch.linspace(1.0, 0.0, steps + 1), shift)
