"""Paired differences to a baseline design: the comparison a study of memory can separate.

Every design is scored on the same held-out probes with the same seeds, so the difference
to the baseline can be taken case by case: for each (seed, probe) that both designs
scored, ``design − baseline``. The interval is the 95 % Student-t interval of the mean of
those paired differences (n = seeds × probes), not an interval over seed means: with two
seeds the latter has t = 12.7 and cannot separate anything, while probe-level pairing
removes the probes' own difficulty from the comparison. ``improved`` counts the pairs
where the design did better (in the metric's own direction).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from echodsl.errors import UsageError
from echodsl.families import family_of
from echodsl.lang.fields import spec_field
from echodsl.store.columns import Column
from echodsl.store.groups import Group
from echodsl.store.stats import MeanCI, mean_ci
from echodsl.store.store import Store

INTERVAL = "paired 95% t-interval over (seed, probe) differences"
# One headline per branch, each scored per case; the in-domain return also by SSIM, which
# tells a recognisable revisit from one that is merely close in colour (PSNR rewards a blur).
PAIRED_COLUMNS = ("R-P", "ID-P", "ID-S", "O-V")


@dataclass(frozen=True)
class Paired:
    """One design's paired difference to the baseline in one column."""

    column: Column
    diff: MeanCI  # mean of design − baseline and its interval
    improved: int  # pairs where the design is better
    pairs: int

    def text(self) -> str:
        if self.diff.mean is None:
            return "n/a"
        return f"{self.diff.text(self.column.digits)} ({self.improved}/{self.pairs})"

    def to_json(self) -> dict:
        return {**self.diff.to_json(), "improved": self.improved, "pairs": self.pairs, "interval": INTERVAL}


def legend(baseline: str) -> str:
    """What the intervals of a table with paired columns are (printed under it)."""
    return (f"\nLevels: mean ± 95% t-interval over seeds. Δ: vs {baseline}, {INTERVAL}; "
            "(k/n): pairs improved. MG: memory gain (teacher-forced loss without − with memory).\n")


def case_values(store: Store, group: Group, column: Column) -> dict[tuple[int, str], float]:
    """(seed, case_id) -> the column's per-case score of ``group``'s runs."""
    out = {}
    for run in group.runs:
        for case in store.cases(run.run_id, branch=column.branch):
            value = case.scores.get(column.name)
            if case.status == "ok" and value is not None and math.isfinite(value):
                out[(run.identity.seed, case.case_id)] = float(value)
    return out


AUTO = "auto"  # the anchor-only design (storage none): the floor a memory study compares to


def baseline_group(groups: list[Group], name: str) -> Group | None:
    """The group ``name`` designates; for ``auto`` the first anchor-only one, or None."""
    if name == AUTO:
        return next((g for g in groups if family_of(spec_field(g.canonical, "storage") or "").anchor_only),
                    None)
    for g in groups:
        if name in g.names or g.spec_hash.startswith(name):
            return g
    known = ", ".join(n for g in groups for n in g.names)
    raise UsageError(f"no finished runs of baseline `{name}` in this selection",
                     hint=f"choose one of: {known}" if known else "finish some runs first")


def paired(store: Store, groups: list[Group], baseline: Group, columns: tuple[Column, ...]) -> dict[str, dict[str, Paired]]:
    """spec_hash -> column label -> the paired difference to ``baseline``."""
    base = {c.label: case_values(store, baseline, c) for c in columns}
    out: dict[str, dict[str, Paired]] = {}
    for g in groups:
        row = {}
        for c in columns:
            mine, theirs = case_values(store, g, c), base[c.label]
            keys = sorted(mine.keys() & theirs.keys())
            diffs = [mine[k] - theirs[k] for k in keys]
            better = sum(1 for d in diffs if (d > 0 if c.higher_is_better else d < 0))
            row[c.label] = Paired(c, mean_ci(diffs), better, len(diffs))
        out[g.spec_hash] = row
    return out
