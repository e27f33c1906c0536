"""The flow-matching convention end to end: what the trainer asks the DiT to output, how
the rollout's sampler turns that output into a velocity, and in which direction it
integrates. An oracle model that outputs the exact training target for a known clip must
be rolled out to exactly that clip, for either prediction, at any number of steps."""

from pathlib import Path

import pytest
import torch
from torch import nn

import echodsl
from echodsl.data.text import TextConfig
from echodsl.errors import SpecError
from echodsl.runtime import assemble
from echodsl.runtime.flow import (TIMESTEP_SCALE, interpolate, sampling_schedule, target_of, velocity_of)
from echodsl.runtime.rollout import RolloutConfig, Trajectory, rollout

SPEC = Path(__file__).with_name("tiny.mem")


class Oracle(nn.Module):
    """Knows the true frames: outputs what a perfectly trained DiT of ``predict`` would for
    a data distribution that is a point mass on ``truth`` (T, C, h, w)."""

    storage = None

    def __init__(self, truth: torch.Tensor, predict: str, per_chunk: int):
        super().__init__()
        self.truth, self.predict, self.per_chunk = truth, predict, per_chunk
        self.weight = nn.Parameter(torch.zeros(1))  # the rollout asks for the device
        self.chunk = 0

    def forward(self, frames, timesteps, actions, text, state):  # frames (1, F, C, h, w)
        start = 1 + self.per_chunk * self.chunk
        x0 = torch.cat([frames[:, :1], self.truth[start:start + frames.shape[1] - 1][None]], dim=1)
        t = timesteps[0, 1] / TIMESTEP_SCALE
        noise = (frames - (1 - t) * x0) / t  # the noise that makes x_t from x0
        return target_of(x0, noise, self.predict)


def _clip():
    doc = echodsl.load(SPEC)
    run = assemble.RunConfig.from_study(doc.study("tiny"), doc.profile("i2v"), 0, SPEC.parent)
    plan = assemble.plan_of(run)
    probe = assemble.world_of(run).probe(0, "in")
    bb = plan.backbone
    cache = assemble.codec_cache(run)
    traj = Trajectory.from_sequence(probe.as_sequence(), cache, TextConfig(bb.text_dim, bb.text_len))
    return plan, traj, cache.encode(probe.frames).float()  # truth (T, C, h, w)


@pytest.mark.parametrize("predict", ["velocity", "clean"])
@pytest.mark.parametrize("steps,shift", [(1, 1.0), (6, 1.0), (16, 15.0)])
def test_an_oracle_model_is_rolled_out_to_the_true_frames(predict, steps, shift):
    plan, traj, truth = _clip()
    oracle = Oracle(truth, predict, plan.backbone.segment_frames - 1)
    out = rollout(oracle, plan, traj, RolloutConfig(steps=steps, shift=shift, seed=1, predict=predict), chunks=1)
    end = out.chunks[0][1]
    assert torch.allclose(out.latents[1:end], truth[1:end], atol=1e-4), (out.latents[1:end] - truth[1:end]).abs().max()


def test_the_velocity_of_either_prediction_is_the_flows_velocity():
    g = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(2, 5, 3, 4, 4, generator=g), torch.randn(2, 5, 3, 4, 4, generator=g)
    for t in (0.05, 0.5, 1.0):
        x_t = interpolate(x0, noise, torch.full((2,), t))
        for predict in ("velocity", "clean"):
            v = velocity_of(target_of(x0, noise, predict), x_t, t, predict)
            assert torch.allclose(v, noise - x0, atol=1e-5)  # dx_t/dt of x_t = (1 - t) x0 + t noise
    with pytest.raises(ValueError, match="predict must be one of"):
        target_of(x0, noise, "epsilon")


def test_the_train_clause_takes_predict():
    doc = echodsl.loads("profile p {}\nstudy s {\n    train flow(predict = clean)\n    profiles p\n}\n")
    assert doc.study("s").train["predict"] == "clean"
    with pytest.raises(SpecError, match="predict"):
        echodsl.loads("profile p {}\nstudy s {\n    train flow(predict = noise)\n    profiles p\n}\n")
