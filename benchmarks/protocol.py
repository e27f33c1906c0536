"""How every benchmark of the suite measures: interleaved rounds, medians and spreads.

Comparing A with B by timing all of A and then all of B on a shared machine measures the
load as much as the code. Here A and B alternate (A B, B A, A B, …) so that a burst of
load hits both, and each side is summarised by its median with the spread (min … max)
beside it; a ratio is the ratio of the medians. Warm-up rounds are run and dropped.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Timing:
    """Seconds per call of one side: median and the range over rounds."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread(self) -> tuple[float, float]:
        return min(self.samples), max(self.samples)

    def to_json(self) -> dict:
        return {"median_s": self.median, "min_s": self.spread[0], "max_s": self.spread[1], "n": len(self.samples)}


def interleaved(sides: dict[str, Callable[[], object]], *, rounds: int, warmup: int = 1) -> dict[str, Timing]:
    """Time each side ``rounds`` times, alternating their order every round."""
    names = list(sides)
    for _ in range(warmup):
        for name in names:
            sides[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for i in range(rounds):
        for name in (names if i % 2 == 0 else names[::-1]):
            start = time.perf_counter()
            sides[name]()
            samples[name].append(time.perf_counter() - start)
    return {name: Timing(tuple(v)) for name, v in samples.items()}


def command(*argv: str, env: dict[str, str] | None = None) -> Callable[[], None]:
    """A side that runs a command to completion (its output discarded); fails loudly."""
    full_env = {**os.environ, **(env or {})}

    def run() -> None:
        done = subprocess.run(argv, capture_output=True, env=full_env)
        if done.returncode not in (0, 1):
            raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-500:]}")

    return run


def python(*code: str) -> Callable[[], None]:
    return command(sys.executable, "-c", "\n".join(code))


@dataclass
class Row:
    """One line of the suite's table: a measured number against its goal."""

    section: str
    what: str
    measured: str  # as printed, e.g. "12.3x faster" or "0.15 s"
    goal: str
    met: bool | None  # None: informational, or skipped
    detail: dict = field(default_factory=dict)  # the raw numbers, for the JSON file

    def to_json(self) -> dict:
        return {"section": self.section, "what": self.what, "measured": self.measured, "goal": self.goal,
                "met": self.met, "detail": self.detail}


def spread_text(t: Timing, unit: float = 1.0, fmt: str = "{:.3f}") -> str:
    lo, hi = t.spread
    return f"{fmt.format(t.median * unit)} ({fmt.format(lo * unit)}–{fmt.format(hi * unit)})"
