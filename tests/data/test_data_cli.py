"""``echodsl data`` commands through click's runner: export, check (text, JSON, poses,
problems, exit codes) and preview."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from click.testing import CliRunner
from PIL import Image

from echodsl.cli import main
from echodsl.data.world import World, WorldConfig

FIXTURE = Path(__file__).parent / "fixtures" / "cam_small"


def run(*args: str):
    return CliRunner().invoke(main, ["data", *args])


def test_export_then_check_is_clean_and_poses_match_the_world(tmp_path):
    out = tmp_path / "cam"
    res = run("export-world", str(out), "--scenes", "2", "--frames", "82", "--size", "16", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["frames"] == 164
    res = run("check", str(out), "--json", "--poses")
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert next(iter(report)) == "format_version" and report["format_version"] == "1.1"
    assert (report["sequence_count"], report["frame_count"], report["window_count"]) == (2, 164, 2)
    assert report["error_count"] == 0 and report["warning_count"] == 0, report["problems"]
    assert report["retrieval"]["precision"] > 0.8 and report["retrieval"]["recall"] > 0.95
    world = World(WorldConfig(scenes=2, frames_per_scene=82, height=16, width=16))
    poses = torch.tensor(report["sequences"][1]["poses"], dtype=torch.float64)
    assert (poses - world.sequence(1).poses).abs().max() < 1e-5


def test_check_reports_every_problem_with_its_file_and_exits_1(tmp_path):
    root = tmp_path / "cam"
    shutil.copytree(FIXTURE, root)
    (root / "frames" / "Office_0" / "0001.png").write_bytes(b"not a png")
    (root / "frames" / "Office_0" / "0003.png").unlink()
    res = run("check", str(root))
    assert res.exit_code == 1
    assert "0001.png: corrupt image" in res.output and "0003.png: frame is missing" in res.output
    assert "3 PNGs for 4 camera frames" in res.output
    res = run("check", str(root), "--json")
    report = json.loads(res.output)
    assert res.exit_code == 1 and report["error_count"] == 3 and not report["ok"]


def test_check_the_hand_written_fixture_warns_about_short_sequences():
    res = run("check", str(FIXTURE))
    assert res.exit_code == 0, res.output
    assert "shorter than one 81-frame window" in res.output and "0 windows" in res.output


def test_check_a_missing_root_is_a_usage_error(tmp_path):
    res = run("check", str(tmp_path / "nope"), "--json")
    assert res.exit_code == 2 and "no such directory" in json.loads(res.output)["error"]["message"]
    assert run("check", str(tmp_path)).exit_code == 1  # exists but is not a dataset


def test_preview_writes_a_strip_with_revisit_frames(tmp_path):
    out = tmp_path / "preview.png"
    res = run("preview", "--scene", "0", "--size", "16", "--out", str(out), "--json")
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["revisit"] and min(info["revisit"]) > max(info["away"])
    with Image.open(out) as im:
        assert im.width == info["frames"] * (96 + 8)
