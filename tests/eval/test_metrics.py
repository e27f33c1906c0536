"""PSNR/SSIM against hand-computed values on tiny tensors, per-chunk summaries, and the
rule that an identical rollout scores perfect replay."""

from __future__ import annotations

import math

import pytest
import torch

from echodsl.eval.metrics import (PSNR_CAP_DB, chunk_ranges, frame_metrics, from_uint8, psnr, ssim,
                                  summarize, to_unit)


def unit(value: float, shape=(3, 8, 8)) -> torch.Tensor:
    """A constant frame whose [0, 1] value is ``value``, expressed in [-1, 1]."""
    return torch.full(shape, 2 * value - 1, dtype=torch.float32)


def test_range_conversions():
    assert to_unit(torch.tensor([-1.0, 0.0, 1.0, 1.5])).tolist() == [0.0, 0.5, 1.0, 1.0]
    assert from_uint8(torch.tensor([0, 255], dtype=torch.uint8)).tolist() == [-1.0, 1.0]


@pytest.mark.parametrize("a, b, expected", [
    (0.0, 0.5, 10 * math.log10(1 / 0.25)),  # MSE 0.25 -> 6.02 dB
    (0.1, 0.0, 20.0),  # MSE 0.01
    (0.0, 1.0, 0.0),  # MSE 1
])
def test_psnr_matches_hand_values(a, b, expected):
    assert psnr(unit(a)[None], unit(b)[None]).item() == pytest.approx(expected, abs=1e-4)


def test_psnr_of_identical_frames_is_capped_not_infinite():
    x = torch.rand(2, 3, 3, 8, 8) * 2 - 1
    assert torch.equal(psnr(x, x), torch.full((2, 3), PSNR_CAP_DB))


def test_ssim_of_constant_frames_is_the_luminance_term():
    # Constant frames have zero variance, so SSIM = (2ab + C1) / (a² + b² + C1), C1 = 0.01².
    a, b, c1 = 0.25, 0.75, 0.01**2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    assert ssim(unit(a)[None], unit(b)[None]).item() == pytest.approx(expected, abs=1e-5)
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    assert torch.allclose(ssim(x, x), torch.ones(4))


def test_chunk_ranges():
    assert chunk_ranges(5, 2) == [range(0, 2), range(2, 4), range(4, 5)]
    assert chunk_ranges(5, [3, 2]) == [range(0, 3), range(3, 5)]
    with pytest.raises(AssertionError):
        chunk_ranges(5, [3, 3])


def test_per_chunk_and_overall_means_show_drift():
    # Frame f of the prediction is off by 0.1 * (f + 1) in [0, 1] units: PSNR falls per frame.
    target = torch.stack([unit(0.0)] * 4)[None]  # (1, 4, 3, 8, 8)
    pred = torch.stack([unit(0.1 * (f + 1)) for f in range(4)])[None]
    per_frame = [20 * math.log10(1 / (0.1 * (f + 1))) for f in range(4)]
    summary = summarize(frame_metrics(pred, target), 2)
    assert summary.per_chunk["psnr"] == pytest.approx([sum(per_frame[:2]) / 2, sum(per_frame[2:]) / 2], abs=1e-4)
    assert summary.overall["psnr"] == pytest.approx(sum(per_frame) / 4, abs=1e-4)
    assert summary.per_chunk["psnr"][0] > summary.per_chunk["psnr"][1]


def test_identical_rollout_scores_perfect_replay_and_lpips_is_unavailable_not_faked():
    frames = torch.rand(2, 6, 3, 32, 32) * 2 - 1
    summary = summarize(frame_metrics(frames, frames.clone()), [2, 2, 2])
    assert summary.per_chunk["psnr"] == [PSNR_CAP_DB] * 3 and summary.overall["psnr"] == PSNR_CAP_DB
    assert summary.per_chunk["ssim"] == pytest.approx([1.0] * 3) and summary.overall["ssim"] == pytest.approx(1.0)
    assert summary.per_chunk["lpips"] is None and summary.overall["lpips"] is None
    assert "unavailable" in summary.notes["lpips"]
    assert summary.to_dict()["chunks"] == [[0, 2], [2, 4], [4, 6]]
