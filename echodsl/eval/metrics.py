"""Frame metrics for the replay and in-domain return branches: PSNR, SSIM (torchmetrics)
and LPIPS (only from local weights), per frame, per chunk and overall.

Convention: every function here takes frames as the data layer hands them out, float in
[-1, 1] (docs/contracts.md), and maps them to [0, 1] before scoring, so PSNR and SSIM use
``data_range = 1`` and match the numbers reported on [0, 1] or 8-bit images. A metric is
computed per frame (one image pair) and then averaged: a chunk's value is the mean of its
frames, the overall value the mean of all frames (sequences of equal length weigh equally).

PSNR of two identical frames is infinite; it is capped at :data:`PSNR_CAP_DB` (the MSE is
floored at 1e-10) so that means and confidence intervals stay finite. The cap is far above
any real reconstruction (8-bit quantisation alone gives about 59 dB).

LPIPS cannot be computed here out of the box: torchmetrics' LPIPS builds its backbone
through torchvision and downloads ImageNet weights, and neither is available. See
:mod:`echodsl.eval.lpips` for the local-weights loader; without it the LPIPS column is
``None`` and reported as unavailable, never estimated.

Letters: B batch (sequences), F frames, H/W pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from echodsl.eval.lpips import Lpips

PSNR_CAP_DB = 100.0  # = MSE floor 1e-10 at data range 1
METRICS = ("psnr", "ssim", "lpips")


def to_unit(frames: torch.Tensor) -> torch.Tensor:
    """[-1, 1] float frames to [0, 1], clamped (a sampler may overshoot the range)."""
    return ((frames.float() + 1.0) / 2.0).clamp(0.0, 1.0)


def from_uint8(frames: torch.Tensor) -> torch.Tensor:
    """uint8 frames (the world renderer's output) to float in [-1, 1]."""
    return frames.float() / 127.5 - 1.0


def _pairs(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, tuple[int, ...]]:
    assert pred.shape == target.shape, f"pred {tuple(pred.shape)} vs target {tuple(target.shape)}"
    assert pred.dim() >= 4 and pred.shape[-3] == 3, f"expected (..., 3, H, W), got {tuple(pred.shape)}"
    lead = tuple(pred.shape[:-3])
    flat = (-1, *pred.shape[-3:])
    # float64: SSIM's variances (E[x²] − E[x]²) lose ~1e-5 in float32, so identical
    # frames would not score exactly 1.
    return to_unit(pred).double().reshape(flat), to_unit(target).double().reshape(flat), lead  # (N, 3, H, W)


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """PSNR in dB of each frame pair: (..., 3, H, W) in [-1, 1] -> (...), capped at PSNR_CAP_DB."""
    p, t, lead = _pairs(pred, target)
    mse = ((p - t) ** 2).flatten(1).mean(1)  # (N,)
    # torchmetrics for the reference formula; the floor keeps identical frames finite.
    exact = peak_signal_noise_ratio(p, t, data_range=1.0, reduction="none", dim=(1, 2, 3))  # (N,)
    capped = torch.where(mse < 1e-10, torch.full_like(exact, PSNR_CAP_DB), exact.clamp(max=PSNR_CAP_DB))
    return capped.reshape(lead).float()


def ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """SSIM of each frame pair: (..., 3, H, W) in [-1, 1] -> (...).

    The definition, spelled out: torchmetrics' SSIM on the frames mapped to [0, 1]
    (``data_range = 1``, clamped), at the frames' own resolution (32x32 for the tiny preset;
    nothing is resized), Gaussian window 11 with sigma 1.5 (torchmetrics' default; frames
    smaller than 11 pixels use the largest odd window that fits, sigma scaled with it),
    constants K1 = 0.01, K2 = 0.03, borders reflect-padded, and the SSIM map averaged over
    every pixel and the three RGB channels into one number per frame (mean pooling).
    1 is identical; a blur of the right colours scores far lower than it would in PSNR."""
    p, t, lead = _pairs(pred, target)
    # Frames smaller than the window (tests, thumbnails) use the largest odd window that fits.
    side = min(p.shape[-2:])
    kernel = min(11, side if side % 2 else side - 1)
    sigma = 1.5 * kernel / 11
    out = structural_similarity_index_measure(p, t, data_range=1.0, reduction="none",
                                              kernel_size=kernel, sigma=sigma)  # (N,)
    return out.reshape(lead).float()


@dataclass(frozen=True)
class FrameMetrics:
    """Per-frame scores of a batch of sequences. ``lpips`` is None when unavailable, with
    the reason in ``lpips_note``."""

    psnr: torch.Tensor  # (B, F) dB
    ssim: torch.Tensor  # (B, F)
    lpips: torch.Tensor | None  # (B, F), lower is better
    lpips_note: str | None = None

    def get(self, name: str) -> torch.Tensor | None:
        assert name in METRICS, name
        return getattr(self, name)


def frame_metrics(pred: torch.Tensor, target: torch.Tensor, lpips: Lpips | None = None) -> FrameMetrics:
    """Score generated frames ``pred`` against ground truth ``target``, both (B, F, 3, H, W)
    in [-1, 1]. Pass only the frames that were generated (not the given anchor frame)."""
    assert pred.dim() == 5, f"expected (B, F, 3, H, W), got {tuple(pred.shape)}"
    with torch.no_grad():
        p, s = psnr(pred, target), ssim(pred, target)  # (B, F) x2
        if lpips is None:
            return FrameMetrics(p, s, None, "unavailable: no --lpips-weights given")
        b, f = pred.shape[:2]
        d = lpips(pred.reshape(b * f, *pred.shape[2:]), target.reshape(b * f, *target.shape[2:]))
        return FrameMetrics(p, s, d.reshape(b, f), None)


def chunk_ranges(frames: int, chunk: int | Sequence[int]) -> list[range]:
    """Frame ranges of the chunks: a fixed ``chunk`` length (the last chunk may be
    shorter), or explicit chunk lengths that must sum to ``frames``."""
    if isinstance(chunk, int):
        assert chunk >= 1, chunk
        return [range(i, min(i + chunk, frames)) for i in range(0, frames, chunk)]
    assert sum(chunk) == frames and all(n >= 1 for n in chunk), f"chunks {list(chunk)} vs {frames} frames"
    starts = [sum(chunk[:i]) for i in range(len(chunk))]
    return [range(s, s + n) for s, n in zip(starts, chunk)]


@dataclass(frozen=True)
class ChunkSummary:
    """Means per chunk and overall for each metric; None marks an unavailable metric."""

    chunks: list[range]
    per_chunk: dict[str, list[float] | None]
    overall: dict[str, float | None]
    notes: dict[str, str]

    def to_dict(self) -> dict:
        return {"chunks": [[r.start, r.stop] for r in self.chunks], "per_chunk": self.per_chunk,
                "overall": self.overall, "notes": self.notes}


def summarize(scores: FrameMetrics, chunk: int | Sequence[int]) -> ChunkSummary:
    """Average per-frame scores within each chunk and over all frames (and sequences), so
    that drift across chunks shows as a trend in ``per_chunk``."""
    frames = scores.psnr.shape[1]
    chunks = chunk_ranges(frames, chunk)
    per_chunk: dict[str, list[float] | None] = {}
    overall: dict[str, float | None] = {}
    notes: dict[str, str] = {}
    for name in METRICS:
        values = scores.get(name)  # (B, F) or None
        if values is None:
            per_chunk[name], overall[name] = None, None
            notes[name] = scores.lpips_note or "unavailable"
            continue
        per_chunk[name] = [_mean(values[:, r.start:r.stop]) for r in chunks]
        overall[name] = _mean(values)
    return ChunkSummary(chunks, per_chunk, overall, notes)


def _mean(x: torch.Tensor) -> float:
    value = float(x.double().mean())
    assert not math.isnan(value), "NaN metric: check the frames for NaNs"
    return value
