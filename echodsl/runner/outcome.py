"""What happened to one planned pair in one process: the last type of a run's chain
(``RunConfig`` -> ``Pair`` -> ``Outcome``, with the store's ``Run`` as the lasting record)."""

from __future__ import annotations

from dataclasses import dataclass

from echodsl.runner.plan import Pair


@dataclass(frozen=True)
class Outcome:
    """One pair's result as its launcher reports it. ``run_id`` points at the store's
    record of the run (None where this process holds none: another rank, or a pair never
    started); the store, not this, is the source of truth for what was measured."""

    pair: Pair
    status: str  # "skipped" | "finished" | "failed" | "busy" (another process trains it) | "interrupted"
    run_id: int | None = None
    error: str | None = None
    seconds: float = 0.0
    store_unreachable: bool = False  # failed because the store stayed down past the retry window
