"""Every profile in specs/: lowers, builds, trains a step, starts exactly as I2V, compiles
without graph breaks, and the compiled model agrees with the eager one."""

from __future__ import annotations

import pytest
import torch

import echodsl
from echodsl.compiler import MemoryPlan, build, build_hash, compile_model, lower
from echodsl.compiler.explain import graph_breaks
from echodsl.lang.budget import sequence_tokens
from echodsl.presets import backbone_config
from echodsl.lang.model import Profile, Variant

from compiler_specs import spec_profiles

PROFILES = spec_profiles()
NAMES = sorted(PROFILES)
# One profile per family keeps dynamo/compile tests within the CPU budget; `-m slow` runs all.
FAMILY_REPS = sorted({p.family: n for n, p in sorted(PROFILES.items(), reverse=True)}.values())


def _i2v_like(profile: Profile) -> Profile:
    none = Variant(variant="none")
    return Profile(name="i2v", storage=none, compression=none, readout=none, recurrence=none, action=profile.action)


def _shares_softmax(profile: Profile) -> bool:
    return profile.readout.variant == "joint" and profile.readout["gate"] == "none"


def _model(profile, backbone):
    return build(lower(profile), backbone, copy_backbone=True)


def test_specs_cover_every_family():
    assert {p.family for p in PROFILES.values()} == {"i2v", "context", "compression", "spatial", "state"}


@pytest.mark.parametrize("name", NAMES)
def test_step0_equals_i2v_and_gradients_reach_memory(name, tiny_backbone, make_inputs):
    profile = PROFILES[name]
    model, i2v = _model(profile, tiny_backbone), _model(_i2v_like(profile), tiny_backbone)
    assert isinstance(model.plan, MemoryPlan)
    args, mem = make_inputs(memory=model.plan.memory_frames, drop=True)
    with torch.no_grad():
        ref = i2v(*args)
    out = model(*args, memory=model.write_memory(mem))
    if model.readout is not None and _shares_softmax(profile):
        # Context-as-Memory's plain concatenation reads memory from the first step; only
        # without memory is it the I2V model.
        assert not torch.allclose(out, ref), "an ungated joint read-out must read the memory at step 0"
    else:
        assert torch.equal(out, ref), "an untrained gated memory must be an exact no-op"
    assert torch.equal(model(*args), ref)  # no memory at all
    params = model.memory_parameters()
    assert sum(p.numel() for p in params if p.requires_grad) == model.plan.param_budget
    if model.readout is None:
        return  # storage none, k = 1, or read-out none: nothing reads the memory
    out.square().mean().backward()
    # An ungated joint read-out has no parameters of its own: the memory is read through the
    # block's own projections, so the gradient must reach the stored tokens' embedding.
    reading = list(model.readout.parameters()) or list(model.storage.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in reading)
    with torch.no_grad():  # one step away from zero init, every memory parameter must learn
        for p in params:
            if p.grad is not None:
                p.sub_(0.1 * p.grad.sign())
    model.zero_grad()
    model(*args, memory=model.write_memory(mem)).square().mean().backward()
    silent = [n for n, p in model.named_parameters() if (n.startswith(("storage.", "readout.")))
              and (p.grad is None or p.grad.abs().sum() == 0)]
    assert not silent, f"memory parameters without gradient: {silent}"


@pytest.mark.parametrize("name", NAMES)
def test_plan_matches_language_budget(name):
    profile, plan, tiny = PROFILES[name], lower(PROFILES[name]), backbone_config("tiny")
    assert sequence_tokens(profile, "tiny") == (tiny.segment_frames * tiny.tokens_per_frame + plan.sequence_tokens,
                                                tiny.max_tokens)
    assert plan.storage.select in ("fov", "recent", "uniform", "tail")
    if profile.storage.variant != "none":  # every family reads k - 1 history frames
        assert plan.memory_frames == profile.storage["k"] - 1
        assert plan.storage.chronological == (profile.storage.variant == "state")


@pytest.mark.parametrize("name", FAMILY_REPS)
def test_no_graph_breaks(name, tiny_backbone):
    breaks, graphs, reasons = graph_breaks(_model(PROFILES[name], tiny_backbone))
    assert breaks == 0 and graphs == 1, reasons


@pytest.mark.parametrize("name", FAMILY_REPS)
def test_compiled_matches_eager(name, tiny_backbone, make_inputs):
    """Dynamo + AOTAutograd (forward and backward graphs); inductor itself is in the slow test."""
    _compiled_vs_eager(PROFILES[name], tiny_backbone, make_inputs, backend="aot_eager")


@pytest.mark.slow
@pytest.mark.parametrize("name", FAMILY_REPS)
def test_inductor_matches_eager(name, tiny_backbone, make_inputs):
    _compiled_vs_eager(PROFILES[name], tiny_backbone, make_inputs, backend="inductor")


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_no_graph_breaks_every_profile(name, tiny_backbone):
    breaks, graphs, reasons = graph_breaks(_model(PROFILES[name], tiny_backbone))
    assert breaks == 0 and graphs == 1, reasons


def _compiled_vs_eager(profile, backbone, make_inputs, backend):
    torch._dynamo.reset()
    model = _model(profile, backbone)
    with torch.no_grad():  # leave zero init so the memory path is really exercised
        for p in model.memory_parameters():
            p.add_(0.05 * torch.randn_like(p))
    args, mem = make_inputs(memory=model.plan.memory_frames, drop=True)
    eager = model(*args, memory=model.write_memory(mem))
    eager.square().mean().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    keys = list(model.state_dict())
    compile_model(model, backend=backend)
    out = model(*args, memory=model.write_memory(mem))
    out.square().mean().backward()
    torch.testing.assert_close(out, eager, atol=1e-4, rtol=1e-4)
    for n, g in grads.items():
        torch.testing.assert_close(dict(model.named_parameters())[n].grad, g, atol=1e-4, rtol=1e-3)
    assert list(model.state_dict()) == keys and not any("_orig_mod." in k for k in keys)
    torch._dynamo.reset()


def test_build_hash_depends_on_versions():
    assert build_hash("1") == build_hash("1") != build_hash("2")
    assert len(build_hash()) == 64


def test_plan_for_hand_written_profile():
    p = echodsl.loads("profile x { storage frames(k = 9, select = recent) compression length(ratio = 4) }").profiles["x"]
    plan = lower(p, "wan2_1_1_3b")
    assert (plan.memory_frames, plan.storage.slots, plan.tokens_per_frame, plan.storage.select) == (8, 2, 880, "recent")
    assert plan.memory_tokens == plan.sequence_tokens == 2 * 880 and plan.attach == tuple(range(30))
