"""A design's finished runs under one setup: the row unit of every comparison."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from echodsl.store.records import Run
from echodsl.store.stats import MeanCI, mean_ci


@dataclass(frozen=True)
class Group:
    """The finished runs of one design under one setup, one (newest) run per seed."""

    spec_hash: str
    names: tuple[str, ...]
    canonical: dict[str, Any]
    runs: tuple[Run, ...]
    # run_id -> {(branch, name, chunk): value}; NaN where the metric was unavailable
    values: dict[int, dict[tuple[str, str, int | None], float]] = field(repr=False)

    @property
    def label(self) -> str:
        return ", ".join(self.names)

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(r.identity.seed for r in self.runs)

    def stat(self, branch: str, name: str, chunk: int | None = None) -> MeanCI:
        return mean_ci([self.values.get(r.run_id, {}).get((branch, name, chunk)) for r in self.runs])
