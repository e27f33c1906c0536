"""Where a training step's time goes at the quickstart's size: producing the batch
(rendering frames from the embedded world, retrieving memory frames) versus the model
(forward, backward, optimiser).

Builds the real ``Trainer`` for each quickstart profile (``specs/quickstart.mem``, seed
0) and runs its ``train_step``; the data share is the CPU time spent in ``Trainer.batch``,
timed around that call, over the whole step's. Only measures: nothing is changed.

    python -m benchmarks.train_data [--steps 6] [--profiles qs_i2v,qs_context]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.protocol import Row, cpu_seconds

SPEC = Path(__file__).resolve().parents[1] / "specs" / "quickstart.mem"
GOAL = 0.10  # data ≤ 10 % of a step
PROFILES = ("qs_i2v", "qs_context", "qs_compression", "qs_spatial", "qs_state")


def data_share(profile_name: str, steps: int, warmup: int = 2) -> dict:
    import torch

    import echodsl
    from echodsl.runtime.assemble import RunConfig
    from echodsl.runtime.trainer import Trainer, TrainOptions

    doc = echodsl.load(SPEC)
    study = doc.study("quickstart")
    profile = study.profile(profile_name)
    run = RunConfig.from_study(study, profile, 0, SPEC.parent)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        trainer = Trainer(run, TrainOptions(out=Path(out), progress=False, device="cpu"))
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
    return {"profile": profile_name, "setup_s": setup_s, "step_s": statistics.median(total),
            "data_s": statistics.median(data), "share": statistics.median(shares),
            "share_range": (min(shares), max(shares)), "batch": run.flow.batch}


def measure(profiles: list[str], steps: int) -> list[Row]:
    rows = []
    for name in profiles:
        r = data_share(name, steps)
        lo, hi = r["share_range"]
        rows.append(Row("training data", f"{name}: data share of a train step (batch {r['batch']})",
                        f"{r['share']:.0%} ({lo:.0%}–{hi:.0%}) of {r['step_s'] * 1e3:.0f} ms",
                        f"≤ {GOAL:.0%}", r["share"] <= GOAL, r))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--profiles", default=",".join(PROFILES))
    args = parser.parse_args()
    for row in measure(args.profiles.split(","), args.steps):
        print(f"{row.what:60s} {row.measured:>30s}  {row.goal}  (setup {row.detail['setup_s']:.1f} s)")


if __name__ == "__main__":
    main()
