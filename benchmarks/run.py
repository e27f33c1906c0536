"""The performance suite: every benchmark, one table, one JSON file.

    python -m benchmarks [--quick] [--only frontend,store,...] [--out benchmarks/results.json]
                         [--update-readme]

Sections (``SECTIONS``): ``frontend`` (validate vs import torch), ``store`` (insert and
compare at 10 … 10,000 runs), ``cost_vs_k`` (step time and memory as K grows),
``train_data`` (data share of a quickstart fine-tuning step), ``compile`` (compiled ÷ eager,
quiet protocol) and ``gpu`` (the Wan2.1-1.3B step; a skipped row without CUDA). Every
comparison inside a section is measured side by side in this run (alternating, median and
spread; see ``benchmarks/protocol.py``). ``--quick`` keeps the whole suite to a few minutes
of one CPU: fewer rounds, the small store sizes, two families, and compile checked with
the ``aot_eager`` backend only (inductor takes minutes per family on a CPU).

A goal that is missed is a figure in the table, not a failure. A section that raises is:
the others still run, and the suite then names it and exits with status 1.

The JSON keeps every raw number and the commit measured; ``--update-readme`` (or
``python -m benchmarks.readme``) rewrites the README's performance table from it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

from benchmarks.protocol import Row
from benchmarks.readme import update_readme
from benchmarks.table import DEFAULT_OUT, render_table

ROOT = Path(__file__).resolve().parents[1]

# Section name -> the module measuring it; each module's ``section(quick)`` returns its
# rows. Modules are imported only when their section runs (torch's thread count is set
# first). A new section is one line here and its module.
SECTIONS = {
    "frontend": "benchmarks.frontend",
    "startup": "benchmarks.startup",
    "store": "benchmarks.store_bench",
    "cost_vs_k": "benchmarks.cost_vs_k",
    "train_data": "benchmarks.train_data",
    "compile": "benchmarks.compile_speedup",
    "gpu": "benchmarks.gpu_row",
    "retrieval": "benchmarks.retrieval",
}
# The outputs of a run: changed by the run itself, so not "uncommitted changes" to what it measured.
OUTPUTS = ("benchmarks/results.json", "README.md")


def run_section(name: str, quick: bool) -> list[Row]:
    """The rows of section ``name`` (its module imported now)."""
    return importlib.import_module(SECTIONS[name]).section(quick)


def commit_measured() -> dict:
    """HEAD and whether code differs from it (the run's own outputs aside); empty outside git."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {}
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", *(f":!{p}" for p in OUTPUTS))
    return {"commit": commit, "dirty": bool(changed)}


def machine() -> dict:
    info = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}
    try:
        info["load_1m"] = os.getloadavg()[0]
    except OSError:
        pass
    try:
        import torch
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return info


def failed_row(name: str, exc: BaseException) -> dict:
    return {**Row(name, "(section failed)", f"{type(exc).__name__}: {exc}"[:200], "", None).to_json(),
            "failed": True}


def main(argv: list[str] | None = None) -> int:
    """Run the sections; 0 when every section ran (whatever its goals), 1 when one raised."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few minutes: fewer rounds, sizes and families")
    parser.add_argument("--only", help=f"comma-separated sections ({', '.join(SECTIONS)})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the JSON goes")
    parser.add_argument("--update-readme", action="store_true", help="rewrite README.md's performance table")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: steady on a shared CPU)")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))  # before torch is imported, here or in children
    sections = args.only.split(",") if args.only else list(SECTIONS)
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}; known: {', '.join(SECTIONS)}")
    import torch

    torch.set_num_threads(args.threads)
    rows: list[dict] = []
    seconds: dict[str, float] = {}
    failed: dict[str, str] = {}
    result = {"format_version": "1", "when": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "command": "python -m benchmarks" + (" --quick" if args.quick else "")
                         + (f" --only {args.only}" if args.only else ""),
              **commit_measured(), "machine": machine(), "section_seconds": seconds, "rows": rows,
              "failed_sections": failed, "complete": False}
    for name in sections:
        start = time.perf_counter()
        try:
            rows += [r.to_json() for r in run_section(name, args.quick)]
        except Exception as exc:  # noqa: BLE001 - one broken section must not hide the others
            traceback.print_exc()
            rows.append(failed_row(name, exc))
            failed[name] = f"{type(exc).__name__}: {exc}"[:500]
        seconds[name] = time.perf_counter() - start
        print(f"[{name}: {seconds[name]:.0f} s{', FAILED' if name in failed else ''}]", file=sys.stderr, flush=True)
        result["complete"] = name == sections[-1]
        # written after every section, so an interrupted run keeps what it measured
        args.out.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print(render_table(rows))
    print(f"\nwrote {args.out}")
    if failed:
        for name, error in failed.items():
            print(f"benchmarks: section {name} failed: {error}", file=sys.stderr)
        if args.update_readme:
            print("benchmarks: README.md left as it was (a section failed)", file=sys.stderr)
        return 1
    if args.update_readme:
        print(f"updated {update_readme(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
