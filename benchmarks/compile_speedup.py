"""Compiled ÷ eager train-step time per memory family on the tiny preset, quiet protocol.

A train step is write_memory + forward + backward + AdamW step. Per family two copies of
one model (same weights) are built: one stays eager, the other is compiled in place
(``compile_model``). The compiled copy's first steps, which compile forward, backward
and write_memory, are timed on their own (the compile time) and excluded; then both run
in interleaved rounds (eager, compiled, compiled, eager, …) and the ratio of CPU-time
medians is reported with each side's spread. Also reported: graphs and recompiles from dynamo's
counters, and whether a shorter chunk (fewer frames) recompiles.

Inductor on CPU needs minutes of full CPU per family; ``--backend aot_eager`` checks
the graph capture (graphs, recompiles) without code generation, in seconds.

    python -m benchmarks.compile_speedup [--families state,context] [--backend inductor] [--rounds 5]
"""

from __future__ import annotations

import argparse
import copy
import time

from benchmarks.protocol import Row, interleaved, spread_text, train_step

FAMILIES = {"i2v": "profile p {}",
            "context": "profile p { storage frames(k = 5) readout joint(placement = suffix) }",
            "compression": "profile p { storage frames(k = 20) compression length(ratio = 4) }",
            "spatial": "profile p { storage summary(grid = 8x8, pool = mean) }",
            "state": "profile p { storage state(dim = 256) recurrence block_scan(block = 4x4, every = 4) }"}
GOAL = 1.0


def _stats() -> dict[str, int]:
    from torch._dynamo.utils import counters

    return {"graphs": int(counters["stats"]["unique_graphs"]),
            "recompiles": sum(int(v) for k, v in counters["recompiles"].items())}


def measure_family(family: str, backend: str, rounds: int, batch: int) -> dict:
    import torch

    import echodsl
    from echodsl.backbone import make_backbone
    from echodsl.compiler import build, compile_model, lower
    from echodsl.compiler.explain import example_inputs

    torch._dynamo.reset()
    torch.manual_seed(0)
    eager = build(lower(echodsl.loads(FAMILIES[family]).profiles["p"], "tiny"), make_backbone("tiny"),
                  copy_backbone=True)
    compiled = compile_model(copy.deepcopy(eager), backend=backend)
    inputs, memory = example_inputs(eager, batch=batch)

    run_eager, run_compiled = train_step(eager, inputs, memory), train_step(compiled, inputs, memory)
    start = time.perf_counter()
    run_compiled()  # compiles forward, backward and write_memory
    run_compiled()  # and anything the first optimiser step guarded on
    compile_s = time.perf_counter() - start
    after_compile = _stats()
    times = interleaved({"eager": run_eager, "compiled": run_compiled}, rounds=rounds, warmup=1)
    steady = _stats()
    shorter = {"frames": inputs[0].shape[1] - 2}
    try:  # a shorter chunk: the rollout's last chunk can be shorter than the others
        short = (inputs[0][:, :-2], inputs[1][:, :-2], inputs[2][:, :-2], inputs[3])
        compiled(*short, memory=compiled.write_memory(memory))
        shorter.update({k: v - steady[k] for k, v in _stats().items()})
    except Exception as exc:  # noqa: BLE001 - reported, not fatal: this is a measurement
        shorter["error"] = f"{type(exc).__name__}: {str(exc)[:120]}"
    return {"family": family, "backend": backend, "compile_s": compile_s, "eager": times["eager"].to_json(),
            "compiled": times["compiled"].to_json(), "ratio": times["compiled"].median / times["eager"].median,
            "graphs": after_compile["graphs"], "recompiles_steady": steady["recompiles"] - after_compile["recompiles"],
            "shorter_chunk": shorter, "_timings": times}


def measure(families: list[str], backend: str = "inductor", rounds: int = 5, batch: int = 8) -> list[Row]:
    rows = []
    for family in families:
        r = measure_family(family, backend, rounds, batch)
        t = r.pop("_timings")
        short = r["shorter_chunk"]
        extra = short.get("error") or (f"a {short['frames']}-frame chunk: +{short.get('graphs', 0)} graph(s), "
                                       f"+{short.get('recompiles', 0)} recompile(s)")
        rows.append(Row("compile", f"{family} ({backend}): compiled ÷ eager train step, batch {batch}",
                        f"{r['ratio']:.2f} (eager {spread_text(t['eager'], 1e3, '{:.0f}')} ms, compiled "
                        f"{spread_text(t['compiled'], 1e3, '{:.0f}')} ms; compile {r['compile_s']:.0f} s; "
                        f"{r['graphs']} graphs; {extra})",
                        f"≤ {GOAL}", r["ratio"] <= GOAL, r))
    return rows


def section(quick: bool) -> list[Row]:
    """``--quick``: the state family with ``aot_eager`` (graph capture, no code generation)."""
    if quick:
        return measure(["state"], backend="aot_eager", rounds=2, batch=2)
    return measure(list(FAMILIES), rounds=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--backend", default="inductor", help="inductor (real code generation) or aot_eager")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    for row in measure(args.families.split(","), args.backend, args.rounds, args.batch):
        print(f"{row.what}\n    {row.measured}")


if __name__ == "__main__":
    main()
