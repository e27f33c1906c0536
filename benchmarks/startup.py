"""First contact at start-up: ``echodsl validate`` against ``python -c 'import torch'``,
and what a spec error costs ``study`` and ``train`` (they check the spec before importing
torch).

Whole processes, as a user or a pre-commit hook pays them, in pairs: each pair runs both
sides back to back, the order alternating from pair to pair (V T, T V, V T, ...), so a
burst of load on a shared machine falls on both sides of a pair. The ratio is taken per
pair and the median over pairs is reported (wall clock: what the user waits; CPU time
beside it), with the range of the per-pair ratios. The parser cache is warm, as on every
start after a user's first.

    python -m benchmarks.startup [--pairs 9]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.protocol import Row, command, interleaved, python

SPEC = Path(__file__).resolve().parents[1] / "specs" / "quickstart.mem"
GOAL_RATIO = 10.0
GOAL_SPEC_ERROR_X = 1.5  # a spec error costs about what `validate` costs (no torch import)


def _echodsl(*args: str):
    """The console script users type (``echodsl ...``), else ``python -m echodsl``."""
    script = Path(sys.executable).parent / "echodsl"
    if script.is_file():
        return command(str(script), *args)
    return command(sys.executable, "-m", "echodsl", *args)


def paired_ratios(numerator: list[float], denominator: list[float]) -> list[float]:
    """Per-pair ratios (round i of one side against round i of the other)."""
    return [n / d for n, d in zip(numerator, denominator)]


def _ratio_text(ratios: list[float]) -> str:
    return f"{statistics.median(ratios):.1f}x ({min(ratios):.1f}–{max(ratios):.1f})"


def section(quick: bool) -> list[Row]:
    """The suite's rows: fewer pairs with ``--quick``."""
    return measure(pairs=5 if quick else 9)


def measure(pairs: int) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        bad = Path(tmp) / "bad.mem"
        bad.write_text(SPEC.read_text(encoding="utf-8") + "\nprofile broken { storage frames(k = -1) }\n",
                       encoding="utf-8")
        sides = {
            "validate": _echodsl("validate", str(SPEC)),
            "torch": python("import torch"),
            "study_spec_error": _echodsl("study", str(bad), "--study", "quickstart", "--store", str(Path(tmp) / "s.db")),
            "train_spec_error": _echodsl("train", str(bad), "--profile", "broken"),
        }
        times = interleaved(sides, rounds=pairs)
    v, t = times["validate"], times["torch"]
    wall = paired_ratios(list(t.wall), list(v.wall))
    cpu = paired_ratios(list(t.samples), list(v.samples))
    rows = [
        Row("startup", f"`echodsl validate specs/{SPEC.name}` vs `python -c \"import torch\"`, {pairs} alternated pairs",
            f"{_ratio_text(wall)} faster in wall time (median {v.wall_median:.3f} s vs {t.wall_median:.3f} s); "
            f"CPU {_ratio_text(cpu)}", f"≥ {GOAL_RATIO:.0f}x",
            statistics.median(wall) >= GOAL_RATIO,
            {"validate": v.to_json(), "torch": t.to_json(), "wall_ratios": wall, "cpu_ratios": cpu}),
    ]
    for name, what in (("study_spec_error", "study"), ("train_spec_error", "train")):
        s = times[name]
        cost = paired_ratios(list(s.wall), list(v.wall))  # what a spec error costs, in validates
        rows.append(Row("startup", f"`echodsl {what}` on a spec with an error (exit 1, checked before torch)",
                        f"{s.wall_median:.3f} s wall, {statistics.median(cost):.2f}x `validate` "
                        f"({min(cost):.2f}–{max(cost):.2f})", f"≤ {GOAL_SPEC_ERROR_X}x `validate`",
                        statistics.median(cost) <= GOAL_SPEC_ERROR_X, {name: s.to_json(), "x_validate": cost}))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=9)
    for row in measure(parser.parse_args().pairs):
        print(f"{row.what:90s} {row.measured}  (goal {row.goal})")


if __name__ == "__main__":
    main()
