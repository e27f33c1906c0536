"""MIND as its own code reads it: a study trains on MIND's train clips only (training on
the test clips is refused), and ``export mind`` conditions each test clip on its ground
truth before ``mark_time``, generates the rest at the preset's stride and writes it at the
ground truth's resolution and frame count."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

pytest.importorskip("av", reason="the video extra (PyAV) is not installed")

import echodsl  # noqa: E402
from echodsl.cli import main  # noqa: E402
from echodsl.data.cam import unreal_from_pose  # noqa: E402
from echodsl.eval.mind_export import fill_frames, protocol_positions  # noqa: E402
from echodsl.data.video import count_frames, read_video, write_video  # noqa: E402
from echodsl.data.world import World, WorldConfig  # noqa: E402
from echodsl.errors import UsageError  # noqa: E402
from echodsl.runtime import assemble  # noqa: E402
from echodsl.runtime.session import resolve_run  # noqa: E402
from echodsl.runtime.trainer import TrainOptions, Trainer  # noqa: E402

TOTAL, MARK = 16, 9
PROFILES = """
profile ctx_k3 {
    storage     frames(k = 3, select = fov(samples = 64))
}
"""


def _xyz(v) -> dict:
    return {"x": float(v[0]), "y": float(v[1]), "z": float(v[2])}


def write_clip(folder: Path, seq, *, size: tuple[int, int] | None = None, frames: torch.Tensor | None = None) -> None:
    """A MIND clip of ``seq``'s first TOTAL poses (first person), its video at ``size``."""
    pos, rot = unreal_from_pose(seq.poses[:TOTAL])
    data = [{"time": t, "ws": 1, "ad": 0, "ud": 0, "lr": 0, "actor_pos": _xyz(pos[t]), "actor_rpy": _xyz(rot[t])}
            for t in range(TOTAL)]
    folder.mkdir(parents=True)
    (folder / "action.json").write_text(json.dumps(
        {"mark_time": MARK, "total_time": TOTAL, "caption": seq.caption, "data": data}))
    video = seq.frames(list(range(TOTAL))) if frames is None else frames
    if size is not None:
        video = torch.nn.functional.interpolate(video.float(), size=size, mode="bilinear").round().to(torch.uint8)
    write_video(folder / "video.mp4", video)


@pytest.fixture(scope="module")
def world() -> World:
    return World(WorldConfig(scenes=5, height=32, width=32, frames_per_scene=TOTAL))


@pytest.fixture(scope="module")
def mind_root(tmp_path_factory, world) -> Path:
    """Two train clips (scenes 0, 1) and two test clips (scenes 2, 3), the test videos
    16:9 at 36x64 as MIND's are 16:9."""
    root = tmp_path_factory.mktemp("MIND")
    for i, name in enumerate(["train-0", "train-1"]):
        write_clip(root / "1st_data" / "train" / name, world.sequence(i))
    write_clip(root / "1st_data" / "test" / "mem_test" / "data-2", world.sequence(2), size=(36, 64))
    write_clip(root / "1st_data" / "test" / "action_space_test" / "data-3", world.sequence(3), size=(36, 64))
    return root


def spec_file(tmp_path: Path, root: Path, split: str | None = None) -> Path:
    data = f'mind(root = "{root}"' + (f", split = {split})" if split else ")")
    spec = tmp_path / "mind.mem"
    spec.write_text(PROFILES + f"""
study on_mind {{
    backbone    wan(preset = tiny)
    data        {data}
    train       flow(steps = 2, lr = 1e-3, batch = 2, shift = 1, overlap_drop = 0)
    profiles    ctx_k3
}}
""")
    return spec


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory, mind_root) -> Path:
    """ctx_k3 trained two steps on the MIND root's train split (the default)."""
    tmp = tmp_path_factory.mktemp("run")
    spec = spec_file(tmp, mind_root)
    run = resolve_run(echodsl.load(spec), spec, "ctx_k3", None, None, {})
    run_dir = tmp / "ctx_k3"
    Trainer(run, TrainOptions(out=run_dir, progress=False)).fit()
    return run_dir


def test_a_study_trains_on_the_train_clips_only(tmp_path, mind_root, world):
    # A copy whose test clips cannot be read at all: training must never need them.
    import shutil

    root = tmp_path / "MIND"
    shutil.copytree(mind_root, root)
    for clip in (root / "1st_data" / "test").glob("*/*"):
        (clip / "action.json").write_text("not json")
        (clip / "video.mp4").write_bytes(b"not a video")
    spec = spec_file(tmp_path, root)
    run = resolve_run(echodsl.load(spec), spec, "ctx_k3", None, None, {})
    assert run.data.args["split"] == "train"  # the default, written into the setup
    source = assemble.source_of(run)
    assert [source.sequence(i).name for i in range(len(source))] == ["1st_data/train/train-0",
                                                                      "1st_data/train/train-1"]
    frames = source.sequence(1).frames([0, 5]).float()
    assert (frames - world.sequence(1).frames([0, 5]).float()).abs().mean() < 12  # scene 1's own frames
    result = Trainer(run, TrainOptions(out=tmp_path / "run", progress=False)).fit()
    assert result.steps == 2


def test_training_on_the_test_clips_is_refused(tmp_path, mind_root):
    spec = spec_file(tmp_path, mind_root, split="test")
    res = CliRunner().invoke(main, ["validate", str(spec)])
    assert res.exit_code == 1
    assert "E126" in res.output and "trains on MIND's test clips" in res.output
    # a run recorded before the split argument existed trained on the test clips: refused too
    spec = spec_file(tmp_path, mind_root)
    run = resolve_run(echodsl.load(spec), spec, "ctx_k3", None, None, {})
    old = assemble.RunConfig.from_json(run.profile, {**run.to_json(), "data": {
        "variant": "mind", "args": {"root": str(mind_root)}}})
    with pytest.raises(UsageError, match="refusing to train on MIND's test clips"):
        assemble.source_of(old)


def test_export_refuses_a_run_trained_on_the_clips_it_exports(tmp_path, trained_dir, mind_root):
    import shutil

    run_dir = tmp_path / "old"
    shutil.copytree(trained_dir, run_dir)
    meta = json.loads((run_dir / "run.json").read_text())
    meta["setup"]["data"]["args"].pop("split")  # as recorded before the split argument: the test clips
    (run_dir / "run.json").write_text(json.dumps(meta))
    res = CliRunner().invoke(main, ["export", "mind", str(run_dir), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "trained on 2 of the clips it would be exported on" in res.output


def test_protocol_positions_and_fill():
    assert protocol_positions(9, 16, 1) == ([0, 1, 2, 3, 4, 5, 6, 7, 8], list(range(9, 16)))
    assert protocol_positions(9, 16, 4) == ([0, 4, 8], [12, 15])  # the last pose closes the clip
    frames = torch.arange(3.0).reshape(3, 1, 1, 1).expand(3, 3, 2, 2)  # values 0, 1, 2 at 8, 12, 15
    filled = fill_frames([8, 12, 15], frames, range(9, 16))[:, 0, 0, 0]
    assert filled.tolist() == pytest.approx([0.25, 0.5, 0.75, 1.0, 1 + 1 / 3, 1 + 2 / 3, 2.0])


def test_export_follows_mind_protocol(tmp_path, trained_dir, mind_root):
    out = tmp_path / "submission"
    res = CliRunner().invoke(main, ["export", "mind", str(trained_dir), "--out", str(out), "--model", "m",
                                    "--steps", "2", "--stride", "2", "--mirror-paths", "2", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["stride"] == 2 and summary["written_sizes"] == ["36x64"] and summary["model_size"] == "32x32"
    assert summary["notes"] == ["the model's 32x32 frames (aspect 1.000) are stretched to the ground truth's "
                                "36x64 (aspect 1.778)"]
    # given 0, 2, .., 8; generated 10, 12, 14, 15 per clip; the other 3 predicted frames filled
    assert (summary["generated_frames"], summary["interpolated_frames"]) == (2 * 4, 2 * 3)
    for test, name in (("mem_test", "data-2"), ("action_space_test", "data-3")):
        video = read_video(out / "m" / "1st_data" / test / name / "video.mp4")
        assert video.shape == (TOTAL - MARK, 3, 36, 64)
    assert count_frames(out / "m" / "1st_data" / "mirror_test" / "data-2" / "path-1.mp4") == 2 * 8
    res = CliRunner().invoke(main, ["export", "mind", str(trained_dir), "--out", str(out), "--model", "text",
                                    "--steps", "1", "--stride", "2", "--mirror-paths", "0", "--limit", "1"])
    assert res.exit_code == 0, res.output
    assert "generated one frame per 2 ground-truth frames: 8 generated, 6 interpolated" in res.output
    assert "note: the model's 32x32 frames" in res.output


def test_the_prediction_depends_on_the_given_context(tmp_path, trained_dir, mind_root, world):
    from echodsl.eval.generate import Generator
    from echodsl.eval.report import EvalConfig
    from echodsl.runtime.trained import load_trained

    gen = Generator(load_trained(trained_dir), EvalConfig(steps=2))
    seq = world.sequence(2)
    other = world.sequence(4)
    # the same poses, other content in every given frame but the anchor (frame MARK - 1)
    swapped = type(seq)(seq.name, seq.poses, seq.intrinsics, seq.height, seq.width, seq.caption,
                        lambda idx: torch.stack([seq.frames([i])[0] if i == MARK - 1 else other.frames([i])[0]
                                                 for i in idx]))
    a = gen.roll(seq, "case", observed=MARK).latents
    b = gen.roll(seq, "case", observed=MARK).latents
    c = gen.roll(swapped, "case", observed=MARK).latents
    assert a.shape[0] == TOTAL
    assert torch.equal(a, b)  # deterministic
    assert torch.equal(a[MARK - 1], c[MARK - 1])  # the same anchor ...
    assert (a[MARK:] - c[MARK:]).abs().max() > 0  # ... but the memory read from the context differs
    # and at the level of the written video: other context frames before mark_time change it
    root = tmp_path / "MIND"
    frames = seq.frames(list(range(TOTAL)))
    frames[:MARK - 1] = other.frames(list(range(MARK - 1)))
    write_clip(root / "1st_data" / "test" / "mem_test" / "data-2", seq, size=(36, 64), frames=frames)
    videos = []
    for gt in (mind_root, root):
        out = tmp_path / f"out-{len(videos)}"
        res = CliRunner().invoke(main, ["export", "mind", str(trained_dir), "--gt", str(gt), "--out", str(out),
                                        "--model", "m", "--steps", "2", "--mirror-paths", "0", "--limit", "1"])
        assert res.exit_code == 0, res.output
        videos.append(read_video(out / "m" / "1st_data" / "mem_test" / "data-2" / "video.mp4").float())
    assert (videos[0] - videos[1]).abs().mean() > 0
