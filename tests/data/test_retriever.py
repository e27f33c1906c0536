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


def _yaw_poses(degrees: list[float], xs: list[float] | None = None) -> torch.Tensor:
    yaw = torch.tensor([math.radians(d) for d in degrees], dtype=torch.float64)
    zero = torch.zeros_like(yaw)
    pos = torch.zeros(len(degrees), 3, dtype=torch.float64)
    pos[:, 2] = 1.2
    if xs is not None:
        pos[:, 0] = torch.tensor(xs, dtype=torch.float64)
    return pose_from_euler(pos, yaw, zero, zero)


def _out_and_back(step: float = 0.1, n: int = 20) -> torch.Tensor:
    """Out along +x facing +x, turn round on the spot, back facing -x, turn round, out
    again: 3 legs of ``n`` frames and 2 turns of 3 (T = 3n + 6, 4, 4)."""
    xs = [i * step for i in range(n)]
    pos = xs + [xs[-1]] * 3 + xs[::-1] + [xs[0]] * 3 + xs
    yaws = [0.0] * n + [45.0, 90.0, 135.0] + [180.0] * n + [225.0, 270.0, 315.0] + [0.0] * n
    return _yaw_poses(yaws, pos)


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
                     32, 32, **{k: kwargs[k] for k in ("samples", "recency", "key", "overlap", "depth_range", "seed")})
    assert item["memory_indices"][item["memory_mask"]].tolist() == again


def test_out_and_back_returns_the_same_place_view_from_the_earlier_visit():
    """The language's default fov() (key = middle, overlap = symmetric, far = 3) picks the frame at
    the middle frame's own pose from the first leg, not the newest frames of the current
    leg behind it, which face the same way (all of which see the whole key frustum when
    overlap is unbounded)."""
    poses = _out_and_back()
    first_leg = 20
    for s in range(2 * 20 + 6 + 3, 3 * 20 + 6 - 4):  # segments on the second outward leg
        targets, middle = poses[s + 1 : s + 5], s + 2
        same_place = middle - (2 * 20 + 6)  # the first leg's frame at this pose
        top = retriever.select_memory("fov", 1, poses[:s], targets, K, 32, 32, key="middle", overlap="symmetric",
                                      depth_range=(0.3, 3.0))
        assert top == [same_place] and same_place < first_leg, (s, top)
        # Unbounded, the newest frame (behind the targets, facing their way) sees all of them.
        assert retriever.fov_overlap(targets, poses[s - 1 : s], K, 32, 32).item() == 1.0


def test_middle_key_is_the_segment_middle_frame():
    targets = _yaw_poses([10, 20, 30, 40])  # anchor + 4 targets: the middle is the 2nd target
    assert torch.equal(retriever.key_poses(targets, "middle"), targets[1:2])
    assert torch.equal(retriever.key_poses(targets[:1], "middle"), targets[:1])
    assert torch.equal(retriever.key_poses(targets, "targets"), targets)
    with pytest.raises(ValueError, match="fov key"):
        retriever.key_poses(targets, "first")
    with pytest.raises(ValueError, match="fov overlap"):
        retriever.select_memory("fov", 2, targets, targets, K, 32, 32, overlap="both")


def test_a_far_limit_ranks_a_camera_further_back_below_the_same_place():
    """Same heading, 0 m vs 2 m behind the key: unbounded both see the whole key frustum
    (a tie); bounded and symmetric prefer the camera at the key's place."""
    history = _yaw_poses([0, 0], xs=[0.0, -2.0])
    key = _yaw_poses([0])
    ov = retriever.fov_overlap(key, history, K, 32, 32, overlap="unbounded")
    assert ov.tolist() == [1.0, 1.0]
    for overlap in ("bounded", "symmetric"):
        ov = retriever.fov_overlap(key, history, K, 32, 32, overlap=overlap)
        assert ov[0] > 0.95 and ov[1] < 0.8, (overlap, ov)


def test_ties_go_to_the_closest_pose_not_the_newest():
    # Three cameras at one place facing one way, the key's pose among them at position 1;
    # unbounded, those behind it tie at 1.0 with it.
    history = _yaw_poses([0, 0, 0], xs=[-1.0, 0.0, -0.5])
    key = _yaw_poses([0])
    assert retriever.rank_fov(history, key, K, 32, 32, overlap="unbounded")[0] == 1


@pytest.mark.parametrize("select, expected", [
    ("fov", {"key": "middle", "overlap": "symmetric", "depth_range": (0.3, 3.0)}),
    ("fov(key = targets, overlap = bounded, far = 5)", {"key": "targets", "overlap": "bounded", "depth_range": (0.3, 5.0)}),
])
def test_the_language_fov_arguments_reach_training_and_rollout(tmp_path, monkeypatch, select, expected):
    import echodsl
    from echodsl.data.text import TextConfig
    from echodsl.runtime import assemble
    from echodsl.runtime.rollout import RolloutConfig, Trajectory, rollout

    spec = tmp_path / "r.mem"
    spec.write_text(f"profile a {{\n storage frames(k = 3, select = {select})\n}}\n"
                    "study s {\n data world(scenes = 2)\n profiles a\n}\n")
    doc = echodsl.load(spec)
    run = assemble.RunConfig.from_study(doc.study("s"), doc.profile("a"), 0, tmp_path)
    plan = assemble.plan_of(run)
    calls = []
    real = retriever.select_memory

    def spy(*args, **kwargs):
        calls.append({k: kwargs[k] for k in expected})
        return real(*args, **kwargs)

    monkeypatch.setattr(retriever, "select_memory", spy)
    assemble.dataset_of(run, plan)[0]
    bb = plan.backbone
    probe = assemble.world_of(run).probe(0, "in", away_frames=6)
    traj = Trajectory.from_sequence(probe.as_sequence(), assemble.codec_cache(run), TextConfig(bb.text_dim, bb.text_len))
    rollout(assemble.make_model(plan, 0), plan, traj, RolloutConfig(steps=1, shift=1.0), chunks=2)
    assert len(calls) >= 2 and all(c == expected for c in calls), calls
