"""The performance suite: every benchmark, one table, one JSON file.

    python -m benchmarks [--quick] [--only frontend,store,...] [--out benchmarks/results.json]
                         [--update-readme]

Sections: ``frontend`` (validate vs import torch), ``store`` (insert and compare at
10 … 10,000 runs), ``cost_vs_k`` (step time and memory as K grows), ``train_data`` (data
share of a quickstart train step), ``compile`` (compiled ÷ eager, quiet protocol) and
``gpu`` (the Wan2.1-1.3B step; a skipped row without CUDA). Every comparison inside a
section is measured side by side in this run (alternating, median and spread; see
``benchmarks/protocol.py``). ``--quick`` keeps the whole suite to a few minutes of one
CPU: fewer rounds, the small store sizes, two families, and compile checked with the
``aot_eager`` backend only (inductor takes minutes per family on a CPU).

The JSON keeps every raw number; ``--update-readme`` (or ``python -m benchmarks.readme``)
rewrites the README's performance table from it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

from benchmarks.protocol import Row

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results.json"
SECTIONS = ("frontend", "store", "cost_vs_k", "train_data", "compile", "gpu", "retrieval")


def run_section(name: str, quick: bool) -> list[Row]:
    if name == "frontend":
        from benchmarks import frontend
        return frontend.measure(rounds=5 if quick else 9)
    if name == "store":
        from benchmarks import store_bench
        return store_bench.measure([10, 100, 1000] if quick else [10, 100, 1000, 10000], rounds=3 if quick else 5)
    if name == "cost_vs_k":
        from benchmarks import cost_vs_k
        if quick:
            return cost_vs_k.measure(["context", "state"], ks=(1, 20), rounds=3)
        return cost_vs_k.measure(list(cost_vs_k.SPECS), rounds=3)
    if name == "train_data":
        from benchmarks import train_data
        return train_data.measure(["qs_context"] if quick else list(train_data.PROFILES), steps=3 if quick else 6)
    if name == "compile":
        from benchmarks import compile_speedup
        if quick:
            return compile_speedup.measure(["state"], backend="aot_eager", rounds=2, batch=2)
        return compile_speedup.measure(list(compile_speedup.FAMILIES), rounds=5)
    if name == "gpu":
        return gpu_rows()
    if name == "retrieval":
        from benchmarks import retrieval
        return retrieval.measure(quick)
    raise ValueError(f"unknown section {name!r} (known: {', '.join(SECTIONS)})")


def gpu_rows() -> list[Row]:
    """benchmarks/gpu_step.py in its own process: its numbers, or a skipped row."""
    done = subprocess.run([sys.executable, str(HERE / "gpu_step.py")], capture_output=True, text=True)
    out = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        return [Row("gpu", "Wan2.1-1.3B bf16 train step", f"failed (exit {done.returncode})", "MFU vs ~48 %",
                    False, {"output": out[-2000:]})]
    if "no CUDA" in out:
        return [Row("gpu", "Wan2.1-1.3B bf16 train step (benchmarks/gpu_step.py)", "skipped: no CUDA device",
                    "MFU vs ~48 %", None, {"output": out})]
    return [Row("gpu", "Wan2.1-1.3B bf16 train step (benchmarks/gpu_step.py)", "see detail", "MFU vs ~48 %",
                None, {"output": out})]


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


def render_table(rows: list[dict]) -> str:
    """The table as Markdown: section, what, measured, goal, status."""
    mark = {True: "met", False: "**missed**", None: "–"}
    lines = ["| section | what | measured | goal | status |", "|---|---|---|---|---|"]
    for r in rows:
        cells = [r["section"], r["what"], r["measured"], r["goal"] or "–", mark[r["met"]]]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
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
    rows: list[dict] = []
    seconds: dict[str, float] = {}
    if set(sections) & {"cost_vs_k", "train_data", "compile"}:
        import torch
        torch.set_num_threads(args.threads)
    result = {"format_version": "1", "when": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "command": "python -m benchmarks" + (" --quick" if args.quick else "")
                         + (f" --only {args.only}" if args.only else ""),
              "machine": machine(), "section_seconds": seconds, "rows": rows, "complete": False}
    for name in sections:
        start = time.perf_counter()
        try:
            rows += [r.to_json() for r in run_section(name, args.quick)]
        except Exception as exc:  # noqa: BLE001 - one broken section must not hide the others
            traceback.print_exc()
            rows.append(Row(name, "(section failed)", f"{type(exc).__name__}: {exc}"[:200], "", False).to_json())
        seconds[name] = time.perf_counter() - start
        print(f"[{name}: {seconds[name]:.0f} s]", file=sys.stderr, flush=True)
        result["complete"] = name == sections[-1]
        # written after every section, so an interrupted run keeps what it measured
        args.out.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print(render_table(rows))
    print(f"\nwrote {args.out}")
    if args.update_readme:
        from benchmarks.readme import update_readme
        print(f"updated {update_readme(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
