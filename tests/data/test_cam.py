"""Context-as-Memory layout: the Unreal camera convention, the hand-written fixture, the
world -> disk -> loader round trip, and clear errors on bad input."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from echodsl.data.cam import CamConfig, CamSource, pose_from_unreal, read_camera_json, read_sequence, unreal_from_pose
from echodsl.data.export import export_world
from echodsl.data.segments import SamplerConfig, SegmentDataset, with_memory
from echodsl.data.world import World, WorldConfig
from echodsl.errors import DataError

FIXTURE = Path(__file__).parent / "fixtures" / "cam_small"


def _unreal_axes(roll: float, pitch: float, yaw: float) -> torch.Tensor:
    """Unreal's FRotationMatrix rows (forward, right, up) in Unreal's own frame."""
    sr, cr = math.sin(math.radians(roll)), math.cos(math.radians(roll))
    sp, cp = math.sin(math.radians(pitch)), math.cos(math.radians(pitch))
    sy, cy = math.sin(math.radians(yaw)), math.cos(math.radians(yaw))
    return torch.tensor([
        [cp * cy, cp * sy, sp],
        [sr * sp * cy - cr * sy, sr * sp * sy + cr * cy, -sr * cp],
        [-(cr * sp * cy + sr * sy), cy * sr - cr * sp * sy, cr * cp],
    ], dtype=torch.float64)


def test_unreal_rotations_map_to_opencv_axes_in_a_right_handed_world():
    flip = torch.diag(torch.tensor([1.0, -1.0, 1.0], dtype=torch.float64))  # Unreal Y right -> y left
    gen = torch.Generator().manual_seed(3)
    for roll, pitch, yaw in (torch.rand(25, 3, generator=gen, dtype=torch.float64) * 170 - 85).tolist():
        pose = pose_from_unreal(torch.tensor([10.0, 20.0, 30.0]), torch.tensor([roll, pitch, yaw]))
        fwd, right, up = _unreal_axes(roll, pitch, yaw) @ flip
        assert torch.allclose(pose[:3, 2], fwd, atol=1e-12)  # camera z = forward
        assert torch.allclose(pose[:3, 0], right, atol=1e-12)  # camera x = right
        assert torch.allclose(pose[:3, 1], -up, atol=1e-12)  # camera y = down
        assert torch.allclose(pose[:3, 3], torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64))
        pos, rot = unreal_from_pose(pose)
        assert torch.allclose(rot, torch.tensor([roll, pitch, yaw], dtype=torch.float64), atol=1e-9)


def test_hand_written_fixture_loads_with_the_stated_convention():
    seq = read_sequence(FIXTURE, "Office_0")
    assert (len(seq), seq.height, seq.width) == (4, 8, 12)
    p = seq.poses
    assert torch.allclose(p[0, :3, 3], torch.tensor([1.0, -2.0, 1.5], dtype=torch.float64))
    assert torch.allclose(p[0, :3, 2], torch.tensor([1.0, 0, 0], dtype=torch.float64), atol=1e-12)
    assert torch.allclose(p[1, :3, 2], torch.tensor([0, -1.0, 0], dtype=torch.float64), atol=1e-12)
    s30 = math.sin(math.radians(30))
    assert torch.allclose(p[2, :3, 2], torch.tensor([math.cos(math.radians(30)), 0, s30], dtype=torch.float64))
    assert p[3, 2, 0] < 0  # roll 10: the camera's right axis dips
    assert torch.allclose(seq.intrinsics[0, 0], torch.tensor(6.0, dtype=torch.float64))  # 90° over 12 px
    frames = seq.frames([0, 3])
    assert frames.shape == (2, 3, 8, 12) and frames[0, :, 0, 0].tolist() == [200, 30, 30]
    assert seq.caption == "" and CamSource(FIXTURE).sequence(0).caption == "a small office with a red door"


def test_world_round_trip_through_disk_reproduces_poses(tmp_path):
    world = World(WorldConfig(scenes=2, height=32, width=32, frames_per_scene=30))
    export_world(world, tmp_path, window=20)
    source = CamSource(tmp_path)
    assert len(source) == 2
    for i in range(2):
        a, b = world.sequence(i), source.sequence(i)
        assert a.name == b.name and a.caption == b.caption
        assert (a.poses - b.poses).abs().max() < 1e-5
        assert torch.allclose(a.intrinsics, b.intrinsics, atol=1e-9)
        assert torch.equal(a.frames([0, 17, 29]), b.frames([0, 17, 29]))
    for select in ("fov", "recent", "uniform"):
        ds = SegmentDataset(source, with_memory(SamplerConfig(overlap_drop=0.0, window_stride=5), select, 2))
        batch = next(iter(DataLoader(ds, batch_size=3)))
        assert batch["frames"].shape == (3, 5, 3, 32, 32) and batch["memory_frames"].shape == (3, 2, 3, 32, 32)
        same = SegmentDataset(world, ds.config)[len(ds) - 1]
        assert torch.equal(ds[len(ds) - 1]["memory_indices"], same["memory_indices"])


def test_resizing_on_load_scales_intrinsics():
    seq = read_sequence(FIXTURE, "Office_0", CamConfig(height=4, width=6))
    assert seq.frames([1]).shape == (1, 3, 4, 6)
    assert torch.allclose(seq.intrinsics[:2, 2], torch.tensor([3.0, 2.0], dtype=torch.float64))
    assert torch.allclose(seq.intrinsics[0, 0], torch.tensor(3.0, dtype=torch.float64))


@pytest.fixture()
def broken(tmp_path) -> Path:
    root = tmp_path / "cam"
    shutil.copytree(FIXTURE, root)
    return root


def _edit_json(root: Path, fn) -> Path:
    path = root / "jsons" / "Office_0.json"
    doc = json.loads(path.read_text())
    fn(doc["CineCameraActor"])
    path.write_text(json.dumps(doc))
    return path


def test_missing_frame_in_json_names_the_file(broken):
    path = _edit_json(broken, lambda a: a.pop("2"))
    with pytest.raises(DataError, match="missing \\[2\\]") as err:
        read_camera_json(path)
    assert err.value.path == str(path)


def test_nan_pose_names_the_file(broken):
    path = _edit_json(broken, lambda a: a["1"].update(position=[float("nan"), 0, 0]))
    with pytest.raises(DataError, match="non-finite pose at frame 1") as err:
        CamSource(broken).sequence(0)  # opening is lazy: the JSON is read on first use
    assert err.value.path == str(path)


def test_missing_and_corrupt_pngs_name_the_file(broken):
    png = broken / "frames" / "Office_0" / "0002.png"
    png.write_bytes(png.read_bytes()[:30])
    seq = read_sequence(broken, "Office_0")
    with pytest.raises(DataError, match="corrupt") as err:
        seq.frames([2])
    assert err.value.path == str(png)
    png.unlink()
    with pytest.raises(DataError, match="missing") as err:
        read_sequence(broken, "Office_0")
    assert err.value.path == str(png)


def test_a_sequence_shorter_than_a_window_is_skipped_with_a_warning():
    with pytest.warns(UserWarning, match="Office_0 has 4 frames"):
        ds = SegmentDataset(CamSource(FIXTURE), SamplerConfig(segment_frames=5))
    assert len(ds) == 0
