"""Train-step cost against the memory size K, per family, on the tiny preset (CPU).

K is what each family's memory reads: the stored frames of ``frames(k = K)`` for the
context and compression families, the history frames a summary or state memory
summarises for the spatial and state families. For K = 1, 5, 10, 20 a step is
write_memory + forward + backward + AdamW at batch 2; the K values of a family are
timed in interleaved rounds (CPU time, see ``protocol``). Memory is the bytes of the tensors autograd saves for
backward (deduplicated by storage): the peak a step holds beyond the weights.

Goals: spatial and state grow ≤ 1.15x from K = 1 to 20 (they read a fixed-size summary);
context grows no faster than its self-attention token count.

    python -m benchmarks.cost_vs_k [--ks 1 5 10 20] [--rounds 3] [--families context,state]
"""

from __future__ import annotations

import argparse
import dataclasses

from benchmarks.protocol import Row, interleaved

KS = (1, 5, 10, 20)
FLAT_GOAL = 1.15
SPECS = {  # family -> profile text; {k} is K for the frame families
    "context": "profile p {{ storage frames(k = {k}) readout joint(placement = suffix) }}",
    "compression": "profile p {{ storage frames(k = {k}) compression length(ratio = 4) }}",
    "spatial": "profile p { storage summary(grid = 8x8, pool = mean) }",
    "state": "profile p { storage state(dim = 64) recurrence block_scan(block = 4x4, state = 8, every = 1) }",
}


def make_step(family: str, k: int, batch: int):
    """A closure running one train step of ``family`` at memory size ``k``, and its plan."""
    import torch

    import echodsl
    from echodsl.backbone import make_backbone
    from echodsl.compiler import build, lower
    from echodsl.compiler.explain import example_inputs

    text = SPECS[family].format(k=k) if "{k}" in SPECS[family] else SPECS[family]
    plan = lower(echodsl.loads(text).profiles["p"], "tiny")
    if family in ("spatial", "state"):
        plan = dataclasses.replace(plan, memory_frames=k)
    torch.manual_seed(0)
    model = build(plan, make_backbone("tiny"))
    inputs, memory = example_inputs(model, batch=batch)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step() -> None:
        out = model(*inputs, memory=model.write_memory(memory))
        out.square().mean().backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step, model, inputs, memory, plan


def saved_bytes(model, inputs, memory) -> int:
    """Bytes autograd keeps for backward during one forward (each storage counted once)."""
    import torch

    seen: dict[int, int] = {}

    def pack(t: torch.Tensor):
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(*inputs, memory=model.write_memory(memory))
    del out
    return sum(seen.values())


def measure_family(family: str, ks: tuple[int, ...], rounds: int, batch: int) -> dict:
    steps, mems, tokens = {}, {}, {}
    for k in ks:
        step, model, inputs, memory, plan = make_step(family, k, batch)
        steps[k] = step
        mems[k] = saved_bytes(model, inputs, memory)
        tokens[k] = plan.backbone.segment_frames * plan.tokens_per_frame + plan.sequence_tokens
    times = interleaved({str(k): steps[k] for k in ks}, rounds=rounds)
    return {"ks": list(ks), "step_s": {k: times[str(k)].median for k in ks},
            "spread_s": {k: times[str(k)].spread for k in ks}, "saved_bytes": mems, "tokens": tokens}


def rows_for(family: str, r: dict) -> list[Row]:
    lo, hi = r["ks"][0], r["ks"][-1]
    t_growth = r["step_s"][hi] / r["step_s"][lo]
    m_growth = r["saved_bytes"][hi] / r["saved_bytes"][lo]
    tok_growth = r["tokens"][hi] / r["tokens"][lo]
    if family in ("spatial", "state"):
        goal, met = f"≤ {FLAT_GOAL}x", t_growth <= FLAT_GOAL and m_growth <= FLAT_GOAL
    elif family == "context":
        goal, met = f"≤ token growth ({tok_growth:.2f}x)", t_growth <= tok_growth
    else:
        goal, met = f"(tokens {tok_growth:.2f}x)", None
    per_k = ", ".join(f"K={k}: {r['step_s'][k] * 1e3:.0f} ms/{r['saved_bytes'][k] / 2**20:.0f} MiB" for k in r["ks"])
    return [Row("cost vs K", f"{family}: step time and saved memory, K {lo} → {hi}",
                f"time {t_growth:.2f}x, memory {m_growth:.2f}x", goal, met, {**r, "per_k": per_k})]


def measure(families: list[str], ks: tuple[int, ...] = KS, rounds: int = 3, batch: int = 2) -> list[Row]:
    rows = []
    for family in families:
        rows += rows_for(family, measure_family(family, ks, rounds, batch))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", type=int, nargs="+", default=list(KS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--families", default=",".join(SPECS))
    args = parser.parse_args()
    for row in measure(args.families.split(","), tuple(args.ks), args.rounds, args.batch):
        print(f"{row.what:55s} {row.measured:>32s}  {row.goal}\n    {row.detail['per_k']}")


if __name__ == "__main__":
    main()
