"""The results store at 10 … 10,000 runs on SQLite: insert rate and ``results compare``.

Each run is written as a study runner writes it (start, one ``log_metrics`` call with the
seven Table 1 values plus four per-chunk values, finish) through the public API, into a
fresh SQLite file. Then ``compare`` is timed through the API, and the CLI's whole
``echodsl results compare`` (process start included) against ``python -c pass``.

    python -m benchmarks.store_bench [--sizes 10 100 1000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.protocol import Row, command, interleaved, python, spread_text

DESIGNS = 10  # designs per store; the seeds make up the rest of the runs
KEYS = (("replay", "psnr"), ("replay", "ssim"), ("replay", "lpips"), ("return_in", "psnr"),
        ("return_in", "ssim"), ("return_in", "lpips"), ("return_open", "judge_overall"))
API_GOAL_S, CLI_START_GOAL_S = 0.2, 0.3


def fill(path: Path, runs: int) -> float:
    """Write ``runs`` finished runs into a new store at ``path``; seconds per run."""
    import echodsl
    from echodsl.store import MetricValue, Provenance, RunIdentity, RunInfo, Store

    ks = ", ".join(str(k) for k in range(1, DESIGNS + 1))
    study = echodsl.loads(f"profile ctx {{ storage frames(k = {{{ks}}}) }}\n"
                          "study bench { profiles ctx  seeds 0 }").study("bench")
    provenance = Provenance(device="cpu", host="bench", git_commit="0" * 40, git_dirty=False, versions={})
    with Store.open(path) as store:
        store.record_setup(study)
        for p in study.profiles:
            store.record_spec(p, "profile source")
        start = time.perf_counter()
        for i in range(runs):
            profile, seed = study.profiles[i % DESIGNS], i // DESIGNS
            ident = RunIdentity(profile.spec_hash, study.setup_hash, "b" * 64, seed)
            run_id = store.start_run(RunInfo(ident, profile.name, study.name, provenance))
            values = [MetricValue(b, n, 10.0 + 0.01 * i + j) for j, (b, n) in enumerate(KEYS)]
            values += [MetricValue("replay", "psnr", 14.0 - c, chunk=c) for c in range(4)]
            store.log_metrics(run_id, values)
            store.finish_run(run_id, steps=100, step_time_s=0.5)
        return (time.perf_counter() - start) / runs


def measure(sizes: list[int], rounds: int) -> list[Row]:
    from echodsl.store import Store
    from echodsl.store.compare import compare

    rows, workdir = [], Path(tempfile.mkdtemp(prefix="echodsl-store-bench-"))
    try:
        for runs in sizes:
            path = workdir / f"runs{runs}.db"
            per_run = fill(path, runs)
            with Store.open(path, create=False) as store:
                api = interleaved({"compare": lambda: compare(store, study="bench")}, rounds=rounds)["compare"]
            met = api.median <= API_GOAL_S if runs == 1000 else None
            rows.append(Row("store", f"compare through the API, {runs:,} runs", f"{spread_text(api)} s",
                            f"≤ {API_GOAL_S} s at 1,000 runs" if runs == 1000 else "linear in runs", met,
                            {"runs": runs, "compare": api.to_json(), "insert_s_per_run": per_run}))
            rows.append(Row("store", f"insert, {runs:,} runs (start + 11 metrics + finish)",
                            f"{per_run * 1e3:.1f} ms/run", "", None, {"runs": runs, "insert_s_per_run": per_run}))
            if runs == max(sizes):
                cli = command(sys.executable, "-m", "echodsl", "results", "compare", "--study", "bench",
                              "--store", str(path))
                times = interleaved({"cli": cli, "python": python("pass")}, rounds=rounds)
                startup = times["cli"].median - times["python"].median - api.median
                rows.append(Row("store", f"`echodsl results compare` start-up, CPU ({runs:,} runs; CLI − API − bare python)",
                                f"{startup:.3f} s", f"≤ {CLI_START_GOAL_S} s", startup <= CLI_START_GOAL_S,
                                {"cli": times["cli"].to_json(), "python": times["python"].to_json(),
                                 "api_median_s": api.median}))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return rows


def section(quick: bool) -> list[Row]:
    """``--quick``: up to 1,000 runs (the goal's size), fewer rounds."""
    return measure([10, 100, 1000] if quick else [10, 100, 1000, 10000], rounds=3 if quick else 5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for row in measure(args.sizes, args.rounds):
        print(f"{row.what:70s} {row.measured:>24s}  {row.goal}")


if __name__ == "__main__":
    main()
