"""Chunk-wise rollout for every family: deterministic, memory carried, constant state cost,
and the same retriever function as training."""

from pathlib import Path

import pytest
import torch

import echodsl
from echodsl.data import retriever
from echodsl.data.text import TextConfig
from echodsl.runtime import assemble
from echodsl.runtime.rollout import RolloutConfig, Trajectory, rollout

SPEC = Path(__file__).with_name("tiny.mem")
FAMILIES = ["i2v", "ctx_k3", "comp_len", "spatial", "scan"]


def setup(profile):
    doc = echodsl.load(SPEC)
    run = assemble.RunConfig.from_study(doc.study("tiny"), doc.profile(profile), 0, SPEC.parent)
    plan = assemble.plan_of(run)
    model = assemble.make_model(plan, 0)
    probe = assemble.world_of(run).probe(0, "in", away_frames=6)
    bb = plan.backbone
    traj = Trajectory.from_sequence(probe.as_sequence(), assemble.codec_cache(run), TextConfig(bb.text_dim, bb.text_len))
    return run, plan, model, traj


@pytest.mark.parametrize("profile", FAMILIES)
def test_three_chunks_for_every_family_deterministic(profile):
    _, plan, model, traj = setup(profile)
    cfg = RolloutConfig(steps=2, shift=1.0, seed=3)
    a = rollout(model, plan, traj, cfg, chunks=3)
    b = rollout(model, plan, traj, cfg, chunks=3)
    per = plan.backbone.segment_frames - 1
    assert a.chunks == [(1, 1 + per), (1 + per, 1 + 2 * per), (1 + 2 * per, 1 + 3 * per)]
    assert a.latents.shape == (1 + 3 * per, *traj.first.shape)
    assert torch.equal(a.latents, b.latents)
    assert torch.equal(a.latents[0], traj.first)
    assert torch.isfinite(a.latents).all()
    if plan.storage.kind == "frames":
        assert a.memory_indices[0] == [] and all(len(m) <= plan.memory_frames for m in a.memory_indices)
        assert all(i < start - 1 for (start, _), m in zip(a.chunks, a.memory_indices) for i in m)


def test_carried_state_cost_per_chunk_does_not_grow():
    _, plan, model, traj = setup("scan_carry")
    out = rollout(model, plan, traj, RolloutConfig(steps=1, shift=1.0), chunks=5)
    per = plan.backbone.segment_frames - 1
    assert out.memory_bytes[1] > 0 and len(set(out.memory_bytes[1:])) == 1  # the state never grows
    assert [len(m) for m in out.memory_indices[1:]] == [per] * 4  # each write reads only the new frames


def test_training_and_rollout_call_the_same_retriever(monkeypatch):
    calls = []
    real = retriever.select_memory

    def spy(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(retriever, "select_memory", spy)
    run, plan, model, traj = setup("ctx_k3")
    rollout(model, plan, traj, RolloutConfig(steps=1, shift=1.0), chunks=2)
    from_rollout = len(calls)
    assemble.dataset_of(run, plan)[0]
    assert from_rollout >= 1 and len(calls) > from_rollout and set(calls) == {"fov"}


def test_run_directory_loads_back_into_the_trained_model(tmp_path):
    from echodsl.runtime.session import resolve_run
    from echodsl.runtime.trained import load_trained
    from echodsl.runtime.trainer import TrainOptions, Trainer

    doc = echodsl.load(SPEC)
    run = resolve_run(doc, SPEC, "scan", "tiny", None, {"steps": 2})
    trainer = Trainer(run, TrainOptions(out=tmp_path, progress=False))
    trainer.fit()
    loaded = load_trained(tmp_path)
    assert loaded.step == 2 and loaded.run.profile == run.profile and loaded.identity["setup_hash"] == run.setup_hash
    for (name, a), b in zip(trainer.model.state_dict().items(), loaded.model.state_dict().values()):
        assert torch.equal(a, b), name
