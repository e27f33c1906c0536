"""Judge calibration: how several judges (VLMs, the rubric, humans) agree on the same
open-domain cases, as in the study's calibration table.

Input: a CSV of per-case overall scores (0–100), in either of two layouts:

* long: columns ``case_id,judge,score`` (other columns are ignored), one row per
  (case, judge); e.g. ``open0003,qwen3-vl,42.5``;
* wide: a ``case_id`` column and one column per judge, e.g. ``case_id,qwen,human``.

Empty cells are missing scores. A (case, judge) pair given twice is an error.

Output, per judge: n, mean ± sample SD over its cases; and against the reference judge
(default: the first judge in the file), on the cases both scored: mean |Δ|, bias
(mean of judge − reference), Spearman ρ and a percentile bootstrap CI for ρ (cases
resampled with replacement, seeded; resamples where a side is constant are skipped).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from echodsl.errors import DataError, UsageError

LONG_COLUMNS = ("case_id", "judge", "score")
MIN_SCORE, MAX_SCORE = 0.0, 100.0  # the open-domain overall score's range


@dataclass(frozen=True)
class Ratings:
    """Scores by judge and case; ``judges`` and ``cases`` keep file order."""

    judges: list[str]
    cases: list[str]
    scores: dict[str, dict[str, float]]  # judge -> case_id -> score


def read_ratings(path: str | Path) -> Ratings:
    """Read a ratings CSV (long or wide layout, see the module docstring)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text (byte {exc.start}: {exc.object[exc.start:exc.start + 1]!r}); "
                        "save the ratings as a UTF-8 CSV", str(path)) from None
    return parse_ratings(text, str(path))


def parse_ratings(text: str, source: str = "<ratings>") -> Ratings:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or "case_id" not in [c.strip() for c in rows[0]]:
        raise DataError("the first row must be a header with a case_id column", source)
    header = [c.strip() for c in rows[0]]
    long = all(c in header for c in LONG_COLUMNS)
    judges: list[str] = [] if long else [c for c in header if c != "case_id"]
    cases: dict[str, None] = {}  # insertion-ordered set: membership in O(1) keeps parsing linear
    scores: dict[str, dict[str, float]] = {j: {} for j in judges}
    col = {name: i for i, name in enumerate(header)}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cell = dict(zip(header, (c.strip() for c in row)))
        case = cell.get("case_id", "")
        if not case:
            raise DataError(f"line {line}: empty case_id", source)
        pairs = [(cell.get("judge", ""), cell.get("score", ""))] if long else [(j, cell.get(j, "")) for j in judges]
        for judge, value in pairs:
            if long and not judge:
                raise DataError(f"line {line}: empty judge", source)
            if value == "":
                continue
            try:
                score = float(value)
            except ValueError:
                raise DataError(f"line {line}, column {col['score' if long else judge] + 1}: "
                                f"score {value!r} is not a number", source) from None
            if not math.isfinite(score):
                raise DataError(f"line {line}: score {value!r} is not finite", source)
            if not MIN_SCORE <= score <= MAX_SCORE:
                raise DataError(f"line {line}: score {value!r} is outside {MIN_SCORE:g}–{MAX_SCORE:g} "
                                "(overall scores are percentages)", source)
            if judge not in scores:
                judges.append(judge)
            per_judge = scores.setdefault(judge, {})
            if case in per_judge:
                raise DataError(f"line {line}: judge {judge!r} scores case {case!r} twice", source)
            per_judge[case] = score
        cases.setdefault(case)
    if not judges:
        raise DataError("no judges found", source)
    return Ratings(judges, list(cases), scores)


@dataclass(frozen=True)
class JudgeRow:
    """One judge's line of the calibration table (vs-reference fields None for the reference)."""

    judge: str
    n: int
    mean: float | None
    sd: float | None
    paired: int  # cases scored by this judge and the reference
    mean_abs_delta: float | None
    bias: float | None
    spearman: float | None
    spearman_low: float | None
    spearman_high: float | None


@dataclass(frozen=True)
class CalibrationTable:
    reference: str
    rows: list[JudgeRow]
    bootstrap: int
    seed: int
    confidence: float = 0.95

    def to_dict(self) -> dict:
        return {"reference": self.reference, "bootstrap": self.bootstrap, "seed": self.seed,
                "confidence": self.confidence, "judges": [vars(r) for r in self.rows]}


def calibrate(ratings: Ratings, reference: str | None = None, *, bootstrap: int = 2000,
              seed: int = 0, confidence: float = 0.95) -> CalibrationTable:
    """The calibration table of ``ratings`` against ``reference`` (default: first judge)."""
    reference = reference or ratings.judges[0]
    if reference not in ratings.scores:
        raise UsageError(f"reference judge {reference!r} is not in the ratings",
                         hint=f"judges: {', '.join(ratings.judges)}")
    ref = ratings.scores[reference]
    rows = []
    for judge in ratings.judges:
        mine = ratings.scores[judge]
        values = np.array(list(mine.values()), dtype=np.float64)
        mean = float(values.mean()) if values.size else None
        sd = float(values.std(ddof=1)) if values.size > 1 else None
        if judge == reference:
            rows.append(JudgeRow(judge, values.size, mean, sd, values.size, None, None, None, None, None))
            continue
        common = [c for c in ratings.cases if c in mine and c in ref]
        x = np.array([mine[c] for c in common])
        y = np.array([ref[c] for c in common])
        delta = x - y
        rho = spearman(x, y)
        low, high = bootstrap_spearman_ci(x, y, bootstrap, seed, confidence)
        rows.append(JudgeRow(judge, values.size, mean, sd, len(common),
                             float(np.abs(delta).mean()) if common else None,
                             float(delta.mean()) if common else None, rho, low, high))
    return CalibrationTable(reference, rows, bootstrap, seed, confidence)


def spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman's ρ (Pearson correlation of average ranks); None when undefined."""
    if len(x) < 2:
        return None
    rho = _rank_corr(stats.rankdata(x)[None], stats.rankdata(y)[None])[0]
    return None if math.isnan(rho) else float(rho)


def bootstrap_spearman_ci(x: np.ndarray, y: np.ndarray, resamples: int, seed: int,
                          confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Percentile bootstrap CI of Spearman's ρ over cases; (None, None) with < 3 cases."""
    n = len(x)
    if n < 3 or resamples < 1:
        return None, None
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(resamples, n))  # (resamples, n)
    rho = _rank_corr(stats.rankdata(x[idx], axis=1), stats.rankdata(y[idx], axis=1))
    rho = rho[~np.isnan(rho)]
    if rho.size == 0:
        return None, None
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(rho, [tail, 100 - tail])
    return float(low), float(high)


def _rank_corr(rx: np.ndarray, ry: np.ndarray) -> np.ndarray:
    """Row-wise Pearson correlation of rank arrays (k, n) -> (k,); NaN for a constant row."""
    dx = rx - rx.mean(1, keepdims=True)
    dy = ry - ry.mean(1, keepdims=True)
    den = np.sqrt((dx**2).sum(1) * (dy**2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (dx * dy).sum(1) / np.where(den > 0, den, 1), np.nan)


def render_table(table: CalibrationTable) -> str:
    """A plain-text table for terminals."""
    pct = round(100 * table.confidence)
    head = ["judge", "n", "mean ± sd", f"mean |Δ| vs {table.reference}", "bias", "Spearman ρ", f"{pct}% CI"]
    body = []
    for r in table.rows:
        is_ref = r.judge == table.reference
        body.append([r.judge + (" (reference)" if is_ref else ""), str(r.n),
                     _f(r.mean) + (f" ± {_f(r.sd)}" if r.sd is not None else ""),
                     "–" if is_ref else _f(r.mean_abs_delta), "–" if is_ref else _f(r.bias, signed=True),
                     "–" if is_ref else _f(r.spearman, 2),
                     "–" if is_ref or r.spearman_low is None else f"[{_f(r.spearman_low, 2)}, {_f(r.spearman_high, 2)}]"])
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [head, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    note = f"bootstrap: {table.bootstrap} resamples of cases, seed {table.seed}"
    return "\n".join(lines + ["", note])


def _f(value: float | None, digits: int = 1, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
