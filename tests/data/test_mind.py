"""MIND: a generated ground-truth tree in MIND's layout reads back (poses, action codes as
MIND's evaluation code defines them, COLMAP images.txt, mp4 frames), and ``echodsl export
mind`` writes a submission tree that an independent layout validator accepts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

pytest.importorskip("av", reason="the video extra (PyAV) is not installed")

from echodsl.cli import main  # noqa: E402
from echodsl.data.cam import unreal_from_pose  # noqa: E402
from echodsl.data.mind import MindSource, read_colmap_images  # noqa: E402
from echodsl.data.video import count_frames, read_video, write_video  # noqa: E402
from echodsl.data.world import World, WorldConfig  # noqa: E402
from echodsl.errors import DataError  # noqa: E402

TOTAL, MARK = 12, 8
CLIPS = [("1st_data", "mem_test", "data-26"), ("1st_data", "action_space_test", "data-1"),
         ("3rd_data", "mem_test", "data-151")]


def _quaternion(r: torch.Tensor) -> list[float]:
    """(w, x, y, z) of a rotation matrix (trace is large enough for these poses)."""
    w = torch.sqrt(1.0 + r[0, 0] + r[1, 1] + r[2, 2]) / 2
    return [float(w), float((r[2, 1] - r[1, 2]) / (4 * w)), float((r[0, 2] - r[2, 0]) / (4 * w)),
            float((r[1, 0] - r[0, 1]) / (4 * w))]


def _xyz(v) -> dict:
    return {"x": float(v[0]), "y": float(v[1]), "z": float(v[2])}


@pytest.fixture(scope="module")
def world() -> World:
    return World(WorldConfig(scenes=3, height=32, width=32, frames_per_scene=TOTAL))


@pytest.fixture(scope="module")
def gt_root(tmp_path_factory, world) -> Path:
    root = tmp_path_factory.mktemp("MIND-Data")
    for i, (persp, test, name) in enumerate(CLIPS):
        folder = root / persp / "test" / test / name
        seq = world.sequence(i)
        pos, rot = unreal_from_pose(seq.poses)
        data = []
        for t in range(TOTAL):
            entry = {"time": t, "ws": t % 3, "ad": 0, "ud": 0, "lr": 2 if t == 1 else 0,
                     "actor_pos": _xyz(pos[t]), "actor_rpy": _xyz(rot[t])}
            if persp == "3rd_data":  # the camera, not the actor, is what the video shows
                entry["actor_pos"] = {"x": 0.0, "y": 0.0, "z": 0.0}
                entry["camera_pos"], entry["camera_rpy"] = _xyz(pos[t]), _xyz(rot[t])
            data.append(entry)
        folder.mkdir(parents=True)
        (folder / "action.json").write_text(json.dumps(
            {"mark_time": MARK, "total_time": TOTAL, "caption": seq.caption, "data": data}))
        write_video(folder / "video.mp4", seq.frames(list(range(TOTAL))))
        if i == 0:  # COLMAP world-to-camera of the predicted frames, names out of order
            lines = ["# Image list with two lines of data per image:"]
            for t in reversed(range(MARK, TOTAL)):
                w2c = torch.linalg.inv(seq.poses[t])
                q, tr = _quaternion(w2c[:3, :3]), w2c[:3, 3].tolist()
                lines += [f"{t} {' '.join(map(str, q))} {' '.join(map(str, tr))} 1 frame_{t:05d}.png", ""]
            (folder / "images.txt").write_text("\n".join(lines) + "\n")
    (root / "1st_data" / "train").mkdir()
    return root


def test_clips_read_back_with_poses_actions_and_frames(gt_root, world):
    source = MindSource(gt_root, height=32, width=32)
    assert [source.clip(i).key for i in range(len(source))] == [
        "1st_data/mem_test/data-26", "1st_data/action_space_test/data-1", "3rd_data/mem_test/data-151"]
    for i in range(3):
        seq, truth = source.sequence(i), world.sequence(i)
        assert (seq.poses - truth.poses).abs().max() < 1e-5  # 3rd person: camera_pos, not actor_pos
        frames = seq.frames([0, 11]).float()
        assert frames.shape == (2, 3, 32, 32)
        gt = truth.frames([0, 11]).float()
        assert (frames - gt).abs().mean() < 12  # H.264 with 4:2:0 chroma at 32x32
        assert (frames[1] - gt[1]).abs().mean() < (frames[1] - gt[0]).abs().mean()  # the right frame
    clip = source.clip(0)
    assert (clip.mark_time, clip.predicted) == (MARK, TOTAL - MARK)
    assert clip.actions[:3] == ("no_op", "forward+look_right", "backward")  # ws 1 = forward, 2 = backward
    assert clip.colmap.shape == (TOTAL - MARK, 4, 4)
    assert (clip.colmap - world.sequence(0).poses[MARK:]).abs().max() < 1e-6
    assert source.clip(1).colmap is None


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["data"][3].update(ws=3), r"data\[3\]\.ws must be 0, 1 or 2, got 3"),
    (lambda d: d["data"][3].update(ws=True), r"data\[3\]\.ws must be 0, 1 or 2, got true"),
    (lambda d: d.update(mark_time="8"), 'mark_time must be an integer, got "8"'),
    (lambda d: d.update(mark_time=12), "need 0 < mark_time < total_time"),
    (lambda d: d["data"].pop(), "data must list total_time = 12 frames, got 11"),
    (lambda d: d["data"][2]["actor_pos"].update(x=None), r"data\[2\]\.actor_pos must be \{x, y, z\} numbers"),
])
def test_bad_action_json_names_file_and_field(gt_root, tmp_path, edit, message):
    import shutil

    root = tmp_path / "mind"
    shutil.copytree(gt_root / "1st_data" / "test" / "action_space_test", root / "1st_data" / "test" / "mem_test")
    path = root / "1st_data" / "test" / "mem_test" / "data-1" / "action.json"
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(DataError, match=message) as err:
        MindSource(root).clip(0)
    assert err.value.path == str(path)


def test_colmap_reader_rejects_a_malformed_line(tmp_path):
    path = tmp_path / "images.txt"
    path.write_text("1 1 0 0 0 0 0\n\n")
    with pytest.raises(DataError, match="line 1: expected"):
        read_colmap_images(path)


def validate_submission(model_dir: Path, gt_root: Path, mirror_paths: int) -> list[str]:
    """Problems with a MIND submission tree, judged only from MIND's layout: one video.mp4
    of total_time - mark_time frames per ground-truth test clip; per memory-test clip,
    mirror_test/<name>/path-1..N.mp4 with an even frame count; no other files."""
    problems, expected = [], set()
    for persp in ("1st_data", "3rd_data"):
        for test in ("mem_test", "action_space_test"):
            folder = gt_root / persp / "test" / test
            for clip in sorted(folder.iterdir()) if folder.is_dir() else []:
                meta = json.loads((clip / "action.json").read_text())
                video = model_dir / persp / test / clip.name / "video.mp4"
                expected.add(video)
                if not video.is_file():
                    problems.append(f"missing {video}")
                elif count_frames(video) != meta["total_time"] - meta["mark_time"]:
                    problems.append(f"{video}: {count_frames(video)} frames")
                if test == "mem_test":
                    for k in range(1, mirror_paths + 1):
                        path = model_dir / persp / "mirror_test" / clip.name / f"path-{k}.mp4"
                        expected.add(path)
                        n = count_frames(path) if path.is_file() else 0
                        if n == 0 or n % 2:
                            problems.append(f"{path}: {n} frames (needs an even, non-zero count)")
    extra = {p for p in model_dir.rglob("*") if p.is_file()} - expected
    problems += [f"unexpected {p}" for p in sorted(extra)]
    return problems


def test_export_mind_writes_a_tree_the_layout_validator_accepts(gt_root, tmp_path):
    import echodsl
    from echodsl.runtime.session import resolve_run
    from echodsl.runtime.trainer import TrainOptions, Trainer

    spec = Path(__file__).resolve().parents[1] / "runtime" / "tiny.mem"
    run_dir = tmp_path / "ctx_k3"
    run = resolve_run(echodsl.load(spec), spec, "ctx_k3", "tiny", None, {"steps": 1})
    Trainer(run, TrainOptions(out=run_dir, progress=False)).fit()
    out = tmp_path / "submission"
    res = CliRunner().invoke(main, ["export", "mind", str(run_dir), "--gt", str(gt_root), "--out", str(out),
                                    "--model", "echo-ctx", "--steps", "2", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["videos"] == 3 + 2 * 10 and summary["mirror_frames"] == 8
    assert validate_submission(out / "echo-ctx", gt_root, 10) == []
    first = read_video(out / "echo-ctx" / "1st_data" / "mirror_test" / "data-26" / "path-1.mp4")
    assert first.shape == (16, 3, 32, 32)
    # the validator is not a rubber stamp: a wrong frame count and a stray file are caught
    video = out / "echo-ctx" / "1st_data" / "mem_test" / "data-26" / "video.mp4"
    write_video(video, first[:5])
    (out / "echo-ctx" / "notes.txt").write_text("x")
    problems = validate_submission(out / "echo-ctx", gt_root, 10)
    assert problems == [f"{video}: 5 frames", f"unexpected {out / 'echo-ctx' / 'notes.txt'}"]


def test_export_mind_without_gt_for_a_world_run_is_a_usage_error(tmp_path):
    res = CliRunner().invoke(main, ["export", "mind", str(tmp_path), "--out", str(tmp_path / "o"), "--json"])
    assert res.exit_code == 2
