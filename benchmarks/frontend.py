"""The language front end at start-up: ``echodsl validate specs/`` against ``import torch``.

Both are whole processes (what a pre-commit hook pays), alternated round by round and
compared in CPU time (see ``protocol``; wall-clock medians are in the JSON). The
parser cache is warmed first, as it is on every start after a user's first. Also counts
the parses one ``validate`` run makes (each file once, however many import it).

    python -m benchmarks.frontend [--rounds 7]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.protocol import Row, command, interleaved, python, spread_text

SPECS = Path(__file__).resolve().parents[1] / "specs"
GOAL_RATIO, GOAL_S = 10.0, 0.18


def parses_per_run() -> tuple[int, int]:
    """(parses, files) of one validate of specs/, counted at the parser's entry point."""
    from echodsl.lang import imports, workspace

    calls = []
    original = imports.parse

    def counting(text, path="<string>"):
        calls.append(path)
        return original(text, path)

    imports.parse = counting
    try:
        result = workspace.validate_paths([SPECS])
    finally:
        imports.parse = original
    return len(calls), len(result.files)


def measure(rounds: int) -> list[Row]:
    validate = command(sys.executable, "-m", "echodsl", "validate", str(SPECS))
    times = interleaved({"validate": validate, "torch": python("import torch")}, rounds=rounds)
    v, t = times["validate"], times["torch"]
    ratio = t.median / v.median
    parses, files = parses_per_run()
    return [
        Row("front end", f"`echodsl validate specs/` ({files} files) vs `python -c \"import torch\"`",
            f"{ratio:.1f}x less CPU ({v.median:.2f} s vs {t.median:.2f} s; wall {v.wall_median:.2f} s vs "
            f"{t.wall_median:.2f} s)", f"≥ {GOAL_RATIO:.0f}x",
            ratio >= GOAL_RATIO, {"validate": v.to_json(), "torch": t.to_json(), "ratio": ratio}),
        Row("front end", "`validate specs/` CPU time (median, min–max)", f"{spread_text(v)} s", f"≤ ~{GOAL_S} s",
            v.median <= GOAL_S, {"validate": v.to_json()}),
        Row("front end", "parses per `validate specs/` run", f"{parses} for {files} files", "one per file",
            parses <= files, {"parses": parses, "files": files}),
    ]


def section(quick: bool) -> list[Row]:
    return measure(rounds=5 if quick else 9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    for row in measure(parser.parse_args().rounds):
        print(f"{row.what:70s} {row.measured:>34s}  {row.goal}")


if __name__ == "__main__":
    main()
