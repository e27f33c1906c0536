"""Train-step cost against the memory size K, per family, on the tiny preset (CPU).

K is what each family's memory reads: the stored frames of ``frames(k = K)`` for the
context and compression families, the history frames a summary or state memory
summarises for the spatial and state families. For K = 1, 5, 10, 20 a step is
write_memory + forward + backward + AdamW at batch 2; the K values of a family are
timed in interleaved rounds (CPU time, see ``protocol``). Memory is the bytes of the tensors autograd saves for
backward (deduplicated by storage): the peak a step holds beyond the weights.

The state family is also rolled out for 16 chunks (``runtime.rollout``, one Euler step
per chunk): the bytes of the memory each chunk reads and the chunk's time, as the ratio
of the last chunk's to the second's (the first reads no memory yet).

Goals: spatial and state grow ≤ 1.15x from K = 1 to 20 (they read a fixed-size summary);
context grows no faster than its self-attention token count.

    python -m benchmarks.cost_vs_k [--ks 1 5 10 20] [--rounds 3] [--families context,state]
"""

from __future__ import annotations

import argparse
import statistics

from benchmarks.protocol import Row, interleaved, train_step

KS = (1, 5, 10, 20)
FLAT_GOAL = 1.15
SPECS = {  # family -> profile text; {k} is the storage's k (the anchor counted)
    "context": "profile p {{ storage frames(k = {k}) readout joint(placement = suffix) }}",
    "compression": "profile p {{ storage frames(k = {k}) compression length(ratio = 4) }}",
    "spatial": "profile p {{ storage summary(k = {k}, grid = 8x8, pool = mean) }}",
    "state": "profile p {{ storage state(k = {k}, dim = 64) recurrence block_scan(block = 4x4, state = 8, every = 1) }}",
}
ROLLOUT_STATE = ("profile p { storage state(k = 5, select = recent, carry = true, dim = 64) "
                 "recurrence block_scan(block = 4x4, state = 8, every = 1) }")
# K as the figures count it: the frame families' k (as their rows have always been
# measured), the summary's and state's history frames (k - 1, so K = 1 still scans a frame).
FRAME_FAMILIES = ("context", "compression")


def make_step(family: str, k: int, batch: int):
    """A closure running one train step of ``family`` at memory size ``k``, and its plan."""
    import torch

    import echodsl
    from echodsl.backbone import make_backbone
    from echodsl.compiler import build, lower
    from echodsl.compiler.explain import example_inputs
    from echodsl.presets import backbone_config

    storage_k = k if family in FRAME_FAMILIES else k + 1
    plan = lower(echodsl.loads(SPECS[family].format(k=storage_k)).profiles["p"], backbone_config("tiny"))
    expected = storage_k - 1  # every storage's k counts the anchor
    if plan.memory_frames != expected:  # K must reach what the model reads, or the figure means nothing
        raise RuntimeError(f"{family} at K = {k} lowered to {plan.memory_frames} memory frames, not {expected}")
    torch.manual_seed(0)
    model = build(plan, make_backbone("tiny"))
    inputs, memory = example_inputs(model, batch=batch)
    return train_step(model, inputs, memory), model, inputs, memory, plan


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


def state_chunks(chunks: int = 16) -> dict:
    """Memory bytes and CPU seconds of each chunk of a ``chunks``-chunk state rollout."""
    import torch

    import echodsl
    from echodsl.data.text import TextConfig
    from echodsl.data.world import World, WorldConfig
    from echodsl.runtime import assemble
    from echodsl.runtime.rollout import RolloutConfig, Trajectory, rollout

    from benchmarks.protocol import cpu_seconds

    # A carried state folds every chunk's new frames in: the one write policy whose memory
    # could grow with the rollout's length.
    profile = echodsl.loads(ROLLOUT_STATE).profiles["p"]
    run = assemble.RunConfig.standalone(profile)
    plan = assemble.plan_of(run)
    model = assemble.make_model(plan, 0)
    bb = plan.backbone
    per = bb.segment_frames - 1
    h, w = bb.latent_hw
    seq = World(WorldConfig(scenes=1, height=h, width=w, frames_per_scene=1 + chunks * per)).sequence(0)
    traj = Trajectory.from_sequence(seq, assemble.codec_cache(run), TextConfig(bb.text_dim, bb.text_len))
    torch.manual_seed(0)
    start = cpu_seconds()
    out = rollout(model, plan, traj, RolloutConfig(steps=1, shift=1.0), chunks=chunks)
    return {"chunks": len(out.chunks), "memory_bytes": out.memory_bytes, "chunk_wall_s": out.chunk_seconds,
            "cpu_s": cpu_seconds() - start}


def state_chunk_row(r: dict) -> Row:
    mem, secs = r["memory_bytes"], r["chunk_wall_s"]
    m_growth = mem[-1] / mem[1] if mem[1] else float("nan")
    later = sorted(secs[1:])
    t_growth = statistics.median(secs[-4:]) / statistics.median(secs[1:5])
    return Row("cost vs K", f"state: per-chunk memory and time over a {r['chunks']}-chunk rollout",
               f"memory {m_growth:.2f}x ({mem[1]:,} → {mem[-1]:,} bytes), time {t_growth:.2f}x "
               f"(last 4 ÷ chunks 2–5, wall)", f"≤ {FLAT_GOAL}x", m_growth <= FLAT_GOAL,
               {**r, "chunk_wall_min_max": (later[0], later[-1])})


def section(quick: bool) -> list[Row]:
    """``--quick``: the context and state families at K = 1 and 20 only."""
    if quick:
        return measure(["context", "state"], ks=(1, 20), rounds=3)
    return measure(list(SPECS), rounds=3)


def measure(families: list[str], ks: tuple[int, ...] = KS, rounds: int = 3, batch: int = 2,
            chunks: int = 16) -> list[Row]:
    rows = []
    for family in families:
        rows += rows_for(family, measure_family(family, ks, rounds, batch))
        if family == "state" and chunks:
            rows.append(state_chunk_row(state_chunks(chunks)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", type=int, nargs="+", default=list(KS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--families", default=",".join(SPECS))
    parser.add_argument("--chunks", type=int, default=16, help="state rollout length (0: skip)")
    args = parser.parse_args()
    for row in measure(args.families.split(","), tuple(args.ks), args.rounds, args.batch, args.chunks):
        print(f"{row.what:55s} {row.measured:>32s}  {row.goal}\n    {row.detail.get('per_k', '')}")


if __name__ == "__main__":
    main()
