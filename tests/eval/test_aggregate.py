"""Multi-seed aggregation: means and t-intervals on hand-made values."""

from __future__ import annotations

import math

import pytest

from echodsl.eval.aggregate import Score, aggregate, mean_ci


def test_mean_ci_matches_the_t_interval_by_hand():
    ci = mean_ci([1.0, 2.0, 3.0, 4.0])
    sd = math.sqrt(5 / 3)  # sample SD of 1..4
    half = 3.182446305284263 * sd / 2  # t_{0.975, 3} = 3.1824
    assert (ci.mean, ci.n, ci.missing) == (2.5, 4, 0)
    assert ci.sd == pytest.approx(sd) and ci.low == pytest.approx(2.5 - half) and ci.high == pytest.approx(2.5 + half)


def test_missing_values_are_skipped_and_small_samples_have_no_interval():
    ci = mean_ci([2.0, None, float("nan"), 4.0])
    assert (ci.mean, ci.n, ci.missing) == (3.0, 2, 2)
    assert (mean_ci([7.0]).mean, mean_ci([7.0]).low) == (7.0, None)
    assert mean_ci([None]).to_dict() == {"mean": None, "low": None, "high": None, "sd": None, "n": 0, "missing": 1}
    assert mean_ci([5.0, 5.0, 5.0]).low == 5.0  # zero spread: a zero-width interval


def test_aggregate_pooled_and_over_seed_means():
    scores = [Score(seed, f"c{c}", "psnr", 10.0 * seed + c) for seed in (0, 1, 2) for c in (0, 1)]
    scores += [Score(0, "c0", "lpips", None), Score(1, "c0", "lpips", 0.5)]
    pooled = aggregate(scores)
    assert list(pooled) == ["psnr", "lpips"]
    assert pooled["psnr"].mean == pytest.approx(10.5) and pooled["psnr"].n == 6
    assert (pooled["lpips"].mean, pooled["lpips"].n, pooled["lpips"].missing) == (0.5, 1, 1)
    seeds = aggregate(scores, over="seeds")
    assert seeds["psnr"].n == 3 and seeds["psnr"].mean == pytest.approx(10.5)
    assert seeds["psnr"].sd == pytest.approx(10.0)  # seed means 0.5, 10.5, 20.5
    assert seeds["psnr"].high - seeds["psnr"].low > pooled["psnr"].high - pooled["psnr"].low
    with pytest.raises(ValueError):
        aggregate(scores, over="cases")
