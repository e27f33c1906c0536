"""Training and rollout agree on the history, for every family.

On a leave-and-return probe, each rollout chunk writes into memory exactly the frames (the
same positions, in the same order, with the same poses relative to the anchor) that the
trainer's sampler gives a training segment anchored at the same frame. A carried state
folds frames across chunks instead; the sampler then gives it the contiguous frames just
before the segment, which must be the newest frames the rollout has folded.
"""

from dataclasses import replace

import pytest
import torch

import echodsl
from echodsl.data.segments import SegmentDataset
from echodsl.data.sequence import Sequence
from echodsl.data.text import TextConfig
from echodsl.runtime import assemble
from echodsl.runtime.rollout import RolloutConfig, Trajectory, rollout

SPEC = """
profile context     { storage frames(k = 5, select = fov(samples = 64)) }
profile compression { storage frames(k = 5, select = fov(samples = 64))  compression length(ratio = 2) }
profile moc         { storage frames(k = 5, select = fov(samples = 64))  compression moc(temperature = 0.1, top = 2) }
profile spatial     { storage summary(k = 5, select = fov(samples = 64), grid = 2x2) }
profile state       { storage state(k = 5, select = fov(samples = 64), dim = 16)  recurrence block_scan(state = 4, every = 2) }
profile tail        { storage summary(select = tail(n = 3), grid = 2x2) }
profile carried     { storage state(k = 5, select = recent, dim = 16, carry = true)  recurrence gated_ema(every = 2) }
"""
FAMILIES = ["context", "compression", "moc", "spatial", "state", "tail", "carried"]
CHUNKS = 5


class OneSequence:
    """A sequence source holding just the probe."""

    def __init__(self, seq: Sequence):
        self.seq = seq

    def __len__(self) -> int:
        return 1

    def sequence(self, index: int) -> Sequence:
        return self.seq


def _setup(name):
    profile = echodsl.loads(SPEC).profile(name)
    run = assemble.RunConfig.standalone(profile)
    plan = assemble.plan_of(run)
    probe = assemble.world_of(run).probe(0, "in", away_frames=6)
    seq = probe.as_sequence()
    # Windows at every frame, memory never dropped: one training segment per rollout anchor.
    sampler = replace(assemble.sampler_of(run, plan), window_stride=1, min_history=0, overlap_drop=0.0)
    dataset = SegmentDataset(OneSequence(seq), sampler, assemble.codec_cache(run))
    model = assemble.make_model(plan, 0)
    bb = plan.backbone
    traj = Trajectory.from_sequence(seq, assemble.codec_cache(run), TextConfig(bb.text_dim, bb.text_len))
    return plan, probe, dataset, model, traj


def _rollout_writes(model, plan, traj):
    """The rollout, and the MemoryInput each chunk's write received (None: no write)."""
    writes = []
    real = model.write_memory

    def spy(memory, state=None):
        writes.append(memory)
        return real(memory, state)

    model.write_memory = spy
    out = rollout(model, plan, traj, RolloutConfig(steps=1, shift=1.0), chunks=CHUNKS)
    return out, writes


@pytest.mark.parametrize("name", FAMILIES)
def test_rollout_writes_what_the_sampler_gives(name):
    plan, probe, dataset, model, traj = _setup(name)
    out, writes = _rollout_writes(model, plan, traj)
    per = plan.backbone.segment_frames - 1
    m = plan.memory_frames
    starts = [start for _, start in dataset.windows]
    carries = getattr(plan.storage, "carry", False)
    folded: list[int] = []  # a carried state: every frame written so far, in order
    reached_back = False
    writes_left = iter(writes)
    for c in range(CHUNKS):
        anchor = c * per
        picked = out.memory_indices[c]
        write = next(writes_left) if picked or not carries else None  # a carried state skips empty writes
        item = dataset[starts.index(anchor)]
        given = [i for i in item["memory_indices"].tolist() if i >= 0]
        if carries:
            folded += picked
            assert picked == (list(range(anchor - per, anchor)) if c else [])  # only the new frames
            assert given == folded[-m:], f"chunk {c}: sampler {given}, rollout folded {folded[-m:]}"
            continue
        assert picked == given, f"chunk {c} (anchor {anchor}): rollout {picked}, sampler {given}"
        # The same poses, relative to the same anchor, in the same slots; padding masked alike.
        assert torch.equal(write.mask[0], item["memory_mask"])
        torch.testing.assert_close(write.actions[0], item["memory_actions"])
        assert torch.equal(probe.poses[picked].float(), traj.poses[picked].float())
        if picked and min(picked) < anchor - m:
            reached_back = True
    assert next(writes_left, None) is None  # no write the loop did not account for
    if plan.storage.select == "fov":
        assert reached_back, "no chunk read a frame from before the most recent ones: not a return"
    if plan.storage.select == "tail":
        assert out.memory_indices[-1] == sorted(out.memory_indices[-1], reverse=True)  # newest first
    if plan.storage.kind == "state":
        assert all(p == sorted(p) for p in out.memory_indices)  # a state scans oldest -> newest
