"""Compiled ÷ eager train-step time per memory family on the tiny preset (one run).

A train step is write_memory + forward + backward + AdamW step, batch 8. Each family's
model is timed eagerly, then compiled in place (``compile_model``, inductor) and timed
again after warm-up. Prints one row per family and the ratio; < 1 means compile helps.

    python benchmarks/compile_speedup.py [--steps 10] [--batch 8] [--families context,state]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

import echodsl
from echodsl.backbone import make_backbone
from echodsl.compiler import build, compile_model, lower
from echodsl.compiler.explain import example_inputs

SPEC = Path(__file__).resolve().parents[1] / "specs" / "paper.mem"
REPRESENTATIVE = {"i2v": "i2v", "context": "context_k5", "compression": "comp_length_r4",
                  "spatial": "spatial_default", "state": "ssm_blockwise"}


def step_times(model, inputs, memory, steps: int) -> list[float]:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        out = model(*inputs, memory=model.write_memory(memory))
        out.square().mean().backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--families", default=",".join(REPRESENTATIVE))
    args = parser.parse_args()
    profiles = echodsl.load(SPEC).profiles
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, median of {args.steps} steps")
    print(f"{'family':12s} {'profile':16s} {'eager ms':>9s} {'compiled ms':>12s} {'compile s':>10s} {'ratio':>6s}")
    for family in args.families.split(","):
        name = REPRESENTATIVE[family]
        torch.manual_seed(0)
        torch._dynamo.reset()
        model = build(lower(profiles[name]), make_backbone("tiny"))
        inputs, memory = example_inputs(model, batch=args.batch)
        step_times(model, inputs, memory, 2)  # warm-up
        eager = statistics.median(step_times(model, inputs, memory, args.steps))
        compile_model(model)
        start = time.perf_counter()
        step_times(model, inputs, memory, 2)  # compiles forward, backward and write
        compile_s = time.perf_counter() - start
        compiled = statistics.median(step_times(model, inputs, memory, args.steps))
        print(f"{family:12s} {name:16s} {eager * 1e3:9.1f} {compiled * 1e3:12.1f} {compile_s:10.1f} {compiled / eager:6.2f}",
              flush=True)


if __name__ == "__main__":
    main()
