"""The flow-matching convention end to end: what the trainer asks the DiT to output, the
direction and sign in which the rollout's sampler integrates it, and the timesteps both
hand the DiT. An oracle that outputs the exact training target for a known clip must be
rolled out to exactly that clip, at any number of steps and any shift."""

from pathlib import Path

import pytest
import torch
from torch import nn

import echodsl
from echodsl.data.text import TextConfig
from echodsl.runtime import assemble
from echodsl.runtime.flow import TIMESTEP_SCALE, frame_timesteps, interpolate, sampling_schedule
from echodsl.runtime.rollout import RolloutConfig, Trajectory, rollout
from echodsl.runtime.trainer import FlowLoss

SPEC = Path(__file__).with_name("tiny.mem")


class Oracle(nn.Module):
    """Outputs what a perfectly trained DiT would for a data distribution that is a point
    mass on ``truth`` (T, C, h, w): the velocity ε - x_0, with ε read back from x_t and t."""

    storage = None

    def __init__(self, truth: torch.Tensor):
        super().__init__()
        self.truth = truth
        self.weight = nn.Parameter(torch.zeros(1))  # the rollout asks for the device
        self.seen: list[torch.Tensor] = []

    def forward(self, frames, timesteps, actions, text, state):  # frames (1, F, C, h, w)
        self.seen.append(timesteps.clone())
        x0 = self.truth[:frames.shape[1]][None]  # (1, F, C, h, w); chunk 0 only
        t = timesteps[:, :, None, None, None] / TIMESTEP_SCALE  # (1, F, 1, 1, 1); anchor 0
        noise = (frames - (1 - t) * x0) / t.clamp(min=1e-6)  # the noise that makes x_t from x0
        return torch.where(t > 0, noise - x0, torch.zeros_like(x0))


def _clip():
    doc = echodsl.load(SPEC)
    run = assemble.RunConfig.from_study(doc.study("tiny"), doc.profile("i2v"), 0, SPEC.parent)
    plan = assemble.plan_of(run)
    probe = assemble.world_of(run).probe(0, "in")
    bb = plan.backbone
    cache = assemble.codec_cache(run)
    traj = Trajectory.from_sequence(probe.as_sequence(), cache, TextConfig(bb.text_dim, bb.text_len))
    return plan, traj, cache.encode(probe.frames).float()  # truth (T, C, h, w)


@pytest.mark.parametrize("steps,shift", [(1, 1.0), (6, 1.0), (16, 15.0)])
def test_an_oracle_velocity_is_rolled_out_to_the_true_frames(steps, shift):
    plan, traj, truth = _clip()
    oracle = Oracle(truth)
    out = rollout(oracle, plan, traj, RolloutConfig(steps=steps, shift=shift, seed=1), chunks=1)
    end = out.chunks[0][1]
    assert torch.allclose(out.latents[1:end], truth[1:end], atol=1e-4), (out.latents[1:end] - truth[1:end]).abs().max()
    # The sampler walks the training schedule from pure noise (1000) down, the anchor clean.
    first, last = oracle.seen[0][0], oracle.seen[-1][0]
    assert first[0] == 0 and torch.all(first[1:] == TIMESTEP_SCALE)
    assert torch.allclose(last[1:], sampling_schedule(steps, shift)[-2] * TIMESTEP_SCALE)


def test_the_trainers_loss_is_zero_for_the_oracle_velocity():
    plan, _, truth = _clip()
    f = plan.backbone.segment_frames
    x0 = truth[:f][None]  # (1, F, C, h, w)
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([0.3])

    class Wrapped(Oracle):
        def forward(self, frames, timesteps, *rest):
            assert torch.equal(timesteps, frame_timesteps(t, f))
            assert torch.allclose(frames[:, 1:], interpolate(x0, noise, t)[:, 1:])
            return super().forward(frames, timesteps, *rest)

    loss = FlowLoss(Wrapped(truth))(x0, noise, t, None, None, None, None, None)
    assert float(loss) < 1e-8
