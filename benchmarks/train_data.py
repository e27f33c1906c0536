"""Where a training step's time goes at the quickstart's size: producing the batch
(rendering frames from the embedded world, retrieving memory frames) versus the model
(forward, backward, optimiser).

Plans the quickstart study (``specs/quickstart.mem``) as ``echodsl study`` does and takes
each profile's seed-0 run the way a study's worker does (``pair_trainer``): fine-tuned from
the study's shared I2V backbone. Then runs the trainer's ``train_step``; the data share is
the CPU time spent in ``Trainer.batch``, timed around that call, over the whole step's.
Only measures: nothing is changed.

The runs folder is kept in the user's cache (``~/.cache/echodsl/benchmarks``), so, as beside
a study's runs, the shared backbone is pretrained once (minutes of CPU; its seconds are
in the JSON) and found there by later runs while the setup and build are unchanged; each
profile's own run folder is removed after it is measured.

    python -m benchmarks.train_data [--steps 6] [--profiles qs_i2v,qs_context]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

from benchmarks.protocol import Row, cpu_seconds

SPEC = Path(__file__).resolve().parents[1] / "specs" / "quickstart.mem"
GOAL = 0.10  # data ≤ 10 % of a step
STUDY = "quickstart"
PROFILES = ("qs_i2v", "qs_context", "qs_compression", "qs_spatial", "qs_state")


def runs_dir() -> Path:
    """Where the benchmark's study runs live: the shared backbone stays there between runs."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "echodsl" / "benchmarks" / STUDY


def data_share(pair, steps: int, warmup: int = 2) -> dict:
    """The data share of ``pair``'s fine-tuning steps, its trainer made as a study's worker
    makes it."""
    import torch

    from echodsl.runner.worker import pair_trainer

    torch.manual_seed(0)
    start = time.perf_counter()
    trainer = pair_trainer(pair, progress=False)
    setup_s = time.perf_counter() - start
    produce = trainer.batch
    spent: list[float] = []

    def timed_batch(step: int):
        t0 = cpu_seconds()
        try:
            return produce(step)
        finally:
            spent.append(cpu_seconds() - t0)

    trainer.batch = timed_batch  # the instance's own method, wrapped for timing only
    data, total = [], []
    for i in range(warmup + steps):
        t0 = cpu_seconds()
        trainer.train_step()
        if i >= warmup:
            total.append(cpu_seconds() - t0)
            data.append(spent[-1])
    shares = [d / t for d, t in zip(data, total)]
    return {"profile": pair.profile, "setup_s": setup_s, "step_s": statistics.median(total),
            "data_s": statistics.median(data), "share": statistics.median(shares),
            "share_range": (min(shares), max(shares)), "batch": pair.run.flow.batch,
            "pretrain_steps": pair.run.flow.pretrain}


def measure(profiles: list[str], steps: int) -> list[Row]:
    import echodsl
    from echodsl.runner.plan import plan_study
    from echodsl.runner.worker import pretrain_shared
    from echodsl.runtime.pretrain import pretrain_dir

    rows, results = [], []
    pairs = plan_study(echodsl.load(SPEC), SPEC, STUDY, runs_dir())
    chosen = [next(p for p in pairs if p.profile == name and p.seed == 0) for name in profiles]
    if not (pretrain_dir(chosen[0].run, runs_dir()) / "done.json").is_file():
        print(f"train_data: pretraining the shared backbone once ({chosen[0].run.flow.pretrain} steps), "
              f"kept in {runs_dir()}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    pretrain_shared(chosen, progress=False)  # as `echodsl study` does before its runs fan out
    pretrain_s = time.perf_counter() - start
    for pair in chosen:
        shutil.rmtree(pair.run_dir, ignore_errors=True)  # a fresh fine-tune, never a resumed one
        try:
            results.append(data_share(pair, steps))
        finally:
            shutil.rmtree(pair.run_dir, ignore_errors=True)
    for r in results:
        name, r["pretrain_s"] = r["profile"], pretrain_s
        lo, hi = r["share_range"]
        rows.append(Row("training data", f"{name}: data share of a train step (batch {r['batch']})",
                        f"{r['share']:.0%} ({lo:.0%}–{hi:.0%}) of {r['step_s'] * 1e3:.0f} ms",
                        f"≤ {GOAL:.0%}", r["share"] <= GOAL, r))
    return rows


def section(quick: bool) -> list[Row]:
    """``--quick``: the context profile only, three steps (after the shared pretraining)."""
    return measure(["qs_context"] if quick else list(PROFILES), steps=3 if quick else 6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--profiles", default=",".join(PROFILES))
    args = parser.parse_args()
    for row in measure(args.profiles.split(","), args.steps):
        print(f"{row.what:60s} {row.measured:>30s}  {row.goal}  (setup {row.detail['setup_s']:.1f} s)")


if __name__ == "__main__":
    main()
