"""How every benchmark of the suite measures: interleaved rounds, medians and spreads.

Comparing A with B by timing all of A and then all of B on a shared machine measures the
load as much as the code. Here A and B alternate (A B, B A, A B, …) so that a burst of
load hits both, and each side is summarised by its median with the spread (min … max)
beside it; a ratio is the ratio of the medians. Warm-up rounds are run and dropped.

Each call is timed twice: wall-clock, and CPU time (this process's user + system time
plus that of the child processes it waited for). On a machine shared with other work
the wall clock mostly measures the others; CPU time is the work the code itself did,
so ratios are taken over CPU time and wall-clock medians are kept beside them. (The
suite runs torch on one thread, so CPU time is not inflated by idle spinning threads.)
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Timing:
    """CPU seconds per call of one side (median and range over rounds), and wall seconds."""

    samples: tuple[float, ...]  # CPU time
    wall: tuple[float, ...] = ()

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread(self) -> tuple[float, float]:
        return min(self.samples), max(self.samples)

    @property
    def wall_median(self) -> float:
        return statistics.median(self.wall) if self.wall else float("nan")

    def to_json(self) -> dict:
        return {"cpu_median_s": self.median, "cpu_min_s": self.spread[0], "cpu_max_s": self.spread[1],
                "wall_median_s": self.wall_median, "n": len(self.samples),
                "cpu_s": list(self.samples), "wall_s": list(self.wall)}


def cpu_seconds() -> float:
    """User + system time of this process and of its waited-for children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def interleaved(sides: dict[str, Callable[[], object]], *, rounds: int, warmup: int = 1) -> dict[str, Timing]:
    """Time each side ``rounds`` times, alternating their order every round."""
    names = list(sides)
    for _ in range(warmup):
        for name in names:
            sides[name]()
    cpu: dict[str, list[float]] = {name: [] for name in names}
    wall: dict[str, list[float]] = {name: [] for name in names}
    for i in range(rounds):
        for name in (names if i % 2 == 0 else names[::-1]):
            start, start_cpu = time.perf_counter(), cpu_seconds()
            sides[name]()
            cpu[name].append(cpu_seconds() - start_cpu)
            wall[name].append(time.perf_counter() - start)
    return {name: Timing(tuple(cpu[name]), tuple(wall[name])) for name in names}


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


def train_step(model, inputs, memory) -> Callable[[], None]:
    """One AdamW step of a memory model on fixed inputs, as a closure to time (the same
    step for every benchmark that times training)."""
    import torch

    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step() -> None:
        out = model(*inputs, memory=model.write_memory(memory))
        out.square().mean().backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step
