"""Mean and 95 % Student-t interval over seeds, without scipy (the store stays light).

Missing values (None, NaN) are skipped and counted, never treated as zero; with one value
there is a mean but no interval, with none there is nothing ("n/a").
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

# Two-sided 95 % critical values t_{0.975, df} for df = 1..30 (standard tables).
_T975 = (12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157,
         2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922,
         2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831,
         2.048407, 2.045230, 2.042272)
_Z975 = 1.959963984540054


def t975(df: int) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom."""
    assert df >= 1, df
    if df <= len(_T975):
        return _T975[df - 1]
    # Cornish-Fisher expansion around the normal quantile; error < 1e-5 for df > 30.
    z = _Z975
    return (z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3))


@dataclass(frozen=True)
class MeanCI:
    """Mean of ``n`` values with the half-width of its 95 % t-interval (None if n < 2)."""

    mean: float | None
    half: float | None
    n: int
    missing: int = 0

    @property
    def low(self) -> float | None:
        return None if self.half is None else self.mean - self.half

    @property
    def high(self) -> float | None:
        return None if self.half is None else self.mean + self.half

    def text(self, digits: int) -> str:
        if self.mean is None:
            return "n/a"
        if self.half is None:
            return f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f} ± {self.half:.{digits}f}"

    def to_json(self) -> dict:
        return {"mean": self.mean, "low": self.low, "high": self.high, "n": self.n, "missing": self.missing}


def mean_ci(values: Iterable[float | None]) -> MeanCI:
    given = list(values)
    xs = [float(v) for v in given if v is not None and not math.isnan(v)]
    n, missing = len(xs), len(given) - len(xs)
    if n == 0:
        return MeanCI(None, None, 0, missing)
    if not all(math.isfinite(x) for x in xs):  # an infinite PSNR (identical frames) has no interval
        return MeanCI(sum(xs) / n, None, n, missing)
    # Work in units of the largest magnitude, so values near the float limit (two of 1e308)
    # cannot overflow the sums; the results are scaled back (an interval wider than the
    # float range is reported as infinite).
    scale = max(abs(x) for x in xs) or 1.0
    ys = [x / scale for x in xs]
    mean_y = math.fsum(ys) / n
    if n == 1:
        return MeanCI(mean_y * scale, None, 1, missing)
    sd_y = math.sqrt(math.fsum((y - mean_y) ** 2 for y in ys) / (n - 1))
    half_y = t975(n - 1) * sd_y / math.sqrt(n)
    return MeanCI(mean_y * scale, half_y * scale, n, missing)  # float products overflow to inf
