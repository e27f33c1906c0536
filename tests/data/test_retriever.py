"""The one memory retriever: ranking, exclusion of frames facing away, and that the
training sampler goes through the same function inference calls."""

from __future__ import annotations

import math

import pytest
import torch

from echodsl.data import retriever
from echodsl.data.camera import intrinsics_from_fov, pose_from_euler
from echodsl.data.segments import SamplerConfig, SegmentDataset

K = intrinsics_from_fov(32, 32, 90.0)


def _yaw_poses(degrees: list[float]) -> torch.Tensor:
    yaw = torch.tensor([math.radians(d) for d in degrees], dtype=torch.float64)
    zero = torch.zeros_like(yaw)
    pos = torch.zeros(len(degrees), 3, dtype=torch.float64)
    pos[:, 2] = 1.2
    return pose_from_euler(pos, yaw, zero, zero)


def test_a_frame_identical_to_the_target_ranks_first():
    history = _yaw_poses([0, 25, 50, 75, 100, 125, 150, -25, -50])
    for pos in range(len(history)):
        ranked = retriever.rank_fov(history, history[pos : pos + 1], K, 32, 32, samples=256)
        assert ranked[0] == pos


def test_frames_facing_away_are_never_chosen():
    history = _yaw_poses([180, 170, -170, 20, 190, 0, 175])
    target = _yaw_poses([0])
    for recency in (0.0, 5.0):
        chosen = retriever.select_memory("fov", 6, history, target, K, 32, 32, recency=recency)
        assert chosen == [3, 5]


def test_recency_breaks_ties_toward_the_newer_frame():
    history = _yaw_poses([0, 90, 0, 90])
    ranked = retriever.rank_fov(history, _yaw_poses([0]), K, 32, 32)
    assert ranked[:2] == [2, 0]


def test_recent_and_uniform_selection():
    history = _yaw_poses([0] * 10)
    assert retriever.select_memory("recent", 3, history, history[:1], K, 32, 32) == [7, 8, 9]
    assert retriever.select_memory("uniform", 3, history, history[:1], K, 32, 32) == [0, 4, 9]
    assert retriever.select_memory("uniform", 20, history, history[:1], K, 32, 32) == list(range(10))
    with pytest.raises(ValueError):
        retriever.select_memory("best", 3, history, history[:1], K, 32, 32)


def test_training_and_inference_share_one_selection_function(world, monkeypatch):
    calls = []
    original = retriever.select_memory

    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        return original(*args, **kwargs)

    monkeypatch.setattr(retriever, "select_memory", spy)
    ds = SegmentDataset(world, SamplerConfig(overlap_drop=0.0, window_stride=6, memory=3))
    item = ds[len(ds) - 1]
    assert len(calls) == 1
    # Inference repeats the call with the poses it has: the same frames come back.
    args, kwargs = calls[0]
    s, start = ds.windows[len(ds) - 1]
    seq = world.sequence(s)
    again = original("fov", 3, seq.poses[:start], seq.poses[start + 1 : start + 5], seq.intrinsics,
                     32, 32, **{k: kwargs[k] for k in ("samples", "recency", "depth_range", "seed")})
    assert item["memory_indices"][item["memory_mask"]].tolist() == again
