"""Multi-seed aggregation: the mean and a Student-t confidence interval of each metric
over seeds and cases.

Two ways to pool, because they answer different questions:

* ``pooled`` (default): every (seed, case) value is one observation, n = seeds × cases
  with a value. This is what "over seeds and cases" above means.
* ``seeds``: each seed's values are first averaged over its cases, and the interval is
  over the n seed means; it is wider and is what to quote when runs, not cases, are the
  unit of replication.

Missing values (None or NaN: LPIPS unavailable, a failed judge call) are skipped and
counted in ``missing``, never treated as zero. With fewer than two values the interval
is undefined (None).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

from scipy import stats


@dataclass(frozen=True)
class MeanCI:
    """Mean with a two-sided t-interval; ``sd`` is the sample SD (n − 1)."""

    mean: float | None
    low: float | None
    high: float | None
    sd: float | None
    n: int
    missing: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def mean_ci(values: Iterable[float | None], confidence: float = 0.95) -> MeanCI:
    """Mean and t-interval of the finite values; None/NaN values count as missing."""
    assert 0 < confidence < 1, confidence
    given = list(values)
    xs = [float(v) for v in given if v is not None and not math.isnan(v)]
    missing, n = len(given) - len(xs), len(xs)
    if n == 0:
        return MeanCI(None, None, None, None, 0, missing)
    mean = math.fsum(xs) / n
    if n == 1:
        return MeanCI(mean, None, None, None, 1, missing)
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return MeanCI(mean, mean - half, mean + half, sd, n, missing)


@dataclass(frozen=True)
class Score:
    """One metric value of one case under one seed (None where it could not be measured)."""

    seed: int
    case_id: str
    metric: str  # e.g. "replay/psnr", "open/overall"
    value: float | None


def aggregate(scores: Iterable[Score], *, over: Literal["pooled", "seeds"] = "pooled",
              confidence: float = 0.95) -> dict[str, MeanCI]:
    """Mean and CI per metric (metrics in first-seen order); see the module docstring."""
    by_metric: dict[str, dict[int, list[float | None]]] = {}
    for s in scores:
        by_metric.setdefault(s.metric, {}).setdefault(s.seed, []).append(s.value)
    out = {}
    for metric, seeds in by_metric.items():
        if over == "pooled":
            out[metric] = mean_ci([v for vals in seeds.values() for v in vals], confidence)
        elif over == "seeds":
            per_seed = [mean_ci(vals) for vals in seeds.values()]
            ci = mean_ci([m.mean for m in per_seed], confidence)
            # Report the missing case values, not just seeds without any value.
            out[metric] = MeanCI(ci.mean, ci.low, ci.high, ci.sd, ci.n, sum(m.missing for m in per_seed))
        else:
            raise ValueError(f"over must be 'pooled' or 'seeds', not {over!r}")
    return out
