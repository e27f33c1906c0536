"""A tree laid out exactly like the distributed Context-as-Memory dataset (written here by
hand, not by echodsl) checks clean, loads with the written poses, and ``data index``
reproduces Echo-Memory's ``metadata_full.csv`` byte for byte; bad values are refused
with the file and field named."""

from __future__ import annotations

import csv
import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from echodsl.cli import main
from echodsl.data.cam import CamSource, pose_from_unreal, read_camera_json
from echodsl.errors import DataError

SCENES = {"Apartment_0": 130, "Garden_3": 90}  # frames; windows at 0, 40 (130) and 0 (90)


def run(*args: str):
    return CliRunner().invoke(main, ["data", *args])


def echo_rows(root: Path) -> str:
    """metadata_full.csv as Echo-Memory's preprocessing writes it, spelled out independently:
    81-frame windows every 40 frames, `video` = frames/ + '|'-joined <Scene>/<png>, prompt =
    the scene's first caption, csv.DictWriter's CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["video", "prompt", "video_name", "start_frame", "end_frame"])
    for scene, n in sorted(SCENES.items()):
        for s in range(0, n - 80, 40):
            video = "frames/" + "|".join(f"{scene}/{i:04d}.png" for i in range(s, s + 81))
            writer.writerow([video, f"{scene} first segment, with a comma", scene, s, s + 80])
    return out.getvalue()


@pytest.fixture()
def real_tree(tmp_path) -> tuple[Path, dict[str, tuple[np.ndarray, np.ndarray]]]:
    root = tmp_path / "ContextAsMemory"
    gen = np.random.default_rng(0)
    written = {}
    captions = []
    for scene, n in SCENES.items():
        (root / "frames" / scene).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(np.full((6, 8, 3), i % 251, np.uint8)).save(root / "frames" / scene / f"{i:04d}.png")
        pos = gen.uniform(-500, 500, (n, 3)).round(3)
        rot = np.stack([gen.uniform(-5, 5, n), gen.uniform(-20, 20, n), gen.uniform(-180, 180, n)], 1).round(3)
        (root / "jsons").mkdir(exist_ok=True)
        actor = {str(i): {"position": pos[i].tolist(), "rotation": rot[i].tolist()} for i in range(n)}
        (root / "jsons" / f"{scene}.json").write_text(json.dumps({"CineCameraActor": actor}))
        labels = root / "overlap_labels" / scene
        labels.mkdir(parents=True)
        for f in range(0, n, 7):  # unpadded names and digit-string indices, as distributed
            others = [str(o) for o in range(max(0, f - 3), min(n, f + 4)) if o != f]
            (labels / f"{f}.json").write_text(json.dumps({"frame_index": str(f), "overlapping_frames": others}))
        captions.append(f"{scene}/0_80.mp4\t{scene} first segment, with a comma")
        captions.append(f"{scene}/40_120.mp4\t{scene} second segment")
        written[scene] = (pos, rot)
    (root / "captions.txt").write_text("\n".join(captions) + "\n")
    (root / "metadata_full.csv").write_bytes(echo_rows(root).encode())
    return root, written


def test_real_tree_checks_clean_and_poses_match_the_written_ones(real_tree):
    root, written = real_tree
    res = run("check", str(root), "--json", "--poses", "--label-frames", "4")
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert (report["error_count"], report["warning_count"]) == (0, 0), report["problems"]
    assert (report["sequence_count"], report["frame_count"], report["window_count"]) == (2, 220, 3)
    assert report["windows_source"] == "metadata_full.csv" and report["files_checked"] == 220
    assert report["files_per_second"] > 0 and report["retrieval"]["frames"] == 8
    for seq in report["sequences"]:
        pos, rot = written[seq["name"]]
        expect = pose_from_unreal(torch.tensor(pos), torch.tensor(rot))
        assert torch.allclose(torch.tensor(seq["poses"], dtype=torch.float64), expect, atol=1e-12)
        assert seq["caption"] == f"{seq['name']} first segment, with a comma"
    source = CamSource(root)
    assert source.names == sorted(SCENES) and len(source.sequence(1)) == 90
    assert torch.equal(source.sequence(0).frames([3])[0, :, 0, 0], torch.tensor([3, 3, 3], dtype=torch.uint8))


def test_index_reproduces_echo_memory_rows_byte_for_byte(real_tree, tmp_path):
    root, _ = real_tree
    expected = (root / "metadata_full.csv").read_bytes()
    (root / "metadata_full.csv").unlink()
    res = run("check", str(root), "--json", "--label-frames", "1")  # without it: derived, still clean
    report = json.loads(res.output)
    assert res.exit_code == 0 and report["windows_source"] == "derived" and report["window_count"] == 3
    assert report["warning_count"] == 0, report["problems"]
    res = run("index", str(root), "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["windows"] == 3
    assert (root / "metadata_full.csv").read_bytes() == expected
    # the video cell's paths are the window's frames, first one prefixed with frames/
    row = next(csv.DictReader(io.StringIO(expected.decode())))
    assert row["video"].split("|")[:2] == ["frames/Apartment_0/0000.png", "Apartment_0/0001.png"]


def test_older_variants_are_read_and_disagreements_say_which_wins(real_tree):
    root, _ = real_tree
    (root / "captions.txt").write_text("Apartment_0\tone caption for the scene\nGarden_3\tanother\n")
    labels = root / "overlap_labels" / "Garden_3"
    (labels / "0007.json").write_text((labels / "7.json").read_text())  # padded twin of 7.json
    (labels / "14.json").rename(labels / "0014.json")  # padded only: accepted
    res = run("check", str(root), "--json", "--label-frames", "2")
    report = json.loads(res.output)
    assert res.exit_code == 0, res.output
    messages = [p["message"] for p in report["problems"]]
    assert "also names frame 7; using 7.json" in messages
    assert sum("differs from captions.txt; echodsl uses captions.txt's" in m for m in messages) == 2
    assert report["warning_count"] == 3


def _png_claiming(width: int, height: int) -> bytes:
    """A valid tiny PNG whose header claims width x height (correct CRC)."""
    buf = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    ihdr = bytearray(data[12:29])  # b"IHDR" + 13 bytes
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    return bytes(data)


def test_hostile_sizes_are_refused_quickly_with_a_clear_error(real_tree):
    root, _ = real_tree
    path = root / "jsons" / "Garden_3.json"
    doc = json.loads(path.read_text())
    doc["CineCameraActor"]["1000000000"] = doc["CineCameraActor"].pop("5")
    path.write_text(json.dumps(doc))
    with pytest.raises(DataError, match=r"missing \[5\], beyond \[1000000000\]") as err:
        read_camera_json(path)
    assert err.value.path == str(path)
    png = root / "frames" / "Apartment_0" / "0002.png"
    png.write_bytes(_png_claiming(40000, 40000))
    res = run("check", str(root), "--json", "--label-frames", "1")
    report = json.loads(res.output)
    assert res.exit_code == 1
    bomb = [p for p in report["problems"] if p["path"] == str(png)]
    assert bomb and "too large" in bomb[0]["message"]
    with pytest.raises(DataError, match="too large") as err:
        CamSource(root).sequence(0).frames([2])
    assert err.value.path == str(png)


@pytest.mark.parametrize("field, value, message", [
    ("overlapping_frames", ["12a"], 'overlapping_frames[0] must be an integer or a digit string, got "12a"'),
    ("overlapping_frames", ["-3"], 'overlapping_frames[0] must be an integer or a digit string, got "-3"'),
    ("overlapping_frames", [5.9], "overlapping_frames[0] must be an integer or a digit string, got 5.9"),
    ("overlapping_frames", [True], "overlapping_frames[0] must be an integer or a digit string, got true"),
    ("frame_index", " 7", 'frame_index must be an integer or a digit string, got " 7"'),
    ("frame_index", 7.0, "frame_index must be an integer or a digit string, got 7.0"),
])
def test_mistyped_labels_name_file_and_field(real_tree, field, value, message):
    root, _ = real_tree
    path = root / "overlap_labels" / "Garden_3" / "7.json"
    doc = json.loads(path.read_text())
    doc[field] = value
    path.write_text(json.dumps(doc))
    res = run("check", str(root), "--label-frames", "1")
    assert res.exit_code == 1
    assert f"error: {path}: {message}" in res.output


@pytest.mark.parametrize("value", [[True, False, True], [1, 2], "1,2,3", [1, None, 3]])
def test_mistyped_positions_name_file_and_field(real_tree, value):
    root, _ = real_tree
    path = root / "jsons" / "Garden_3.json"
    doc = json.loads(path.read_text())
    doc["CineCameraActor"]["4"]["position"] = value
    path.write_text(json.dumps(doc))
    with pytest.raises(DataError, match=r"CineCameraActor\.4\.position must be 3 numbers") as err:
        read_camera_json(path)
    assert err.value.path == str(path)


def test_metadata_problems_are_errors_naming_the_row(real_tree):
    root, _ = real_tree
    meta = root / "metadata_full.csv"
    meta.write_text(meta.read_text().replace("Garden_3/0005.png", "Garden_3/0006.png", 1))
    res = run("check", str(root), "--label-frames", "1")
    assert res.exit_code == 1 and "window Garden_3 0-80: video cell does not list frames 0..80" in res.output
    meta.write_text("sequence,start_frame,end_frame\nGarden_3,0,80\n")
    res = run("check", str(root), "--label-frames", "1")
    assert res.exit_code == 1
    assert "expected Echo-Memory's columns video,prompt,video_name,start_frame,end_frame" in res.output


def test_retrieval_is_scored_with_the_profiles_own_retriever(real_tree):
    root, _ = real_tree
    spec = str(Path(__file__).resolve().parents[1] / "runtime" / "tiny.mem")
    res = run("check", str(root), "--json", "--label-frames", "3", "--spec", spec, "--profile", "ctx_k3")
    assert res.exit_code == 0, res.output
    r = json.loads(res.output)["retrieval"]
    assert (r["k"], r["samples"], r["recency"], r["from"]) == (2, 64, 0.0, "profile ctx_k3")
    assert r["frames"] == 6 and 0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1
    assert "precision: share of the retriever's top-K" in r["meaning"]
    res = run("check", str(root), "--json", "--spec", spec, "--profile", "comp_len")  # select = recent
    assert res.exit_code == 2 and "does not retrieve frames by fov" in json.loads(res.output)["error"]["message"]


def _labels_as_integers(root: Path) -> None:
    for path in (root / "overlap_labels").rglob("*.json"):
        doc = json.loads(path.read_text())
        path.write_text(json.dumps({"frame_index": int(doc["frame_index"]),
                                    "overlapping_frames": [int(o) for o in doc["overlapping_frames"]]}))


def read_overlap_labels(root: Path, name: str) -> dict[int, list[int]]:
    """{frame: overlapping frames} of one sequence, as ``echodsl check`` reads them."""
    from echodsl.data.cam import label_files, read_label_file

    return {f: read_label_file(paths[0], f) for f, paths in sorted(label_files(root, name).items())}


def test_integer_labels_read_the_same_as_the_released_strings(real_tree):
    root, _ = real_tree
    as_strings = {scene: read_overlap_labels(root, scene) for scene in SCENES}
    assert as_strings["Garden_3"][7] == [4, 5, 6, 8, 9, 10]
    released = json.loads(run("check", str(root), "--json", "--poses", "--label-frames", "4").output)
    _labels_as_integers(root)
    assert {scene: read_overlap_labels(root, scene) for scene in SCENES} == as_strings
    res = run("check", str(root), "--json", "--poses", "--label-frames", "4")
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert (report["error_count"], report["warning_count"]) == (0, 0), report["problems"]
    assert report["sequences"] == released["sequences"]  # same poses, same retrieval scores


def test_exported_labels_are_strings_as_released(tmp_path):
    from echodsl.data.export import export_world
    from echodsl.data.world import World, WorldConfig

    export_world(World(WorldConfig(scenes=1, frames_per_scene=12, height=8, width=8)), tmp_path, progress=False)
    files = sorted((tmp_path / "overlap_labels").rglob("*.json"))
    assert files
    for path in files:
        doc = json.loads(path.read_text())
        assert doc["frame_index"] == path.stem  # the released loader's int(...) reads both
        assert doc["overlapping_frames"] and all(isinstance(o, str) and o.isdigit() for o in doc["overlapping_frames"])


def test_many_identical_label_errors_are_one_grouped_line(real_tree):
    root, _ = real_tree
    folder = root / "overlap_labels" / "Garden_3"
    for f in range(500):
        (folder / f"{f}.json").write_text(json.dumps({"frame_index": f"#{f % 1}", "overlapping_frames": []}))
    res = run("check", str(root), "--label-frames", "1")
    assert res.exit_code == 1
    grouped = [ln for ln in res.output.splitlines() if "frame_index must be" in ln]
    assert len(grouped) == 1, grouped
    assert grouped[0].startswith('error: frame_index must be an integer or a digit string, got "#0" (500 files: ')
    assert grouped[0].endswith(", ...)") and str(folder / "0.json") in grouped[0]
    report = json.loads(run("check", str(root), "--json", "--label-frames", "1").output)
    assert report["error_count"] == 500  # the JSON keeps one problem per file


def test_captions_that_are_not_utf8_are_a_data_error_naming_file_and_line(real_tree):
    root, _ = real_tree
    captions = root / "captions.txt"
    captions.write_bytes(b"Apartment_0/0_80.mp4\tfirst\nGarden_3/0_80.mp4\tune pi\xe8ce\n")
    for command in (["check", str(root), "--label-frames", "1"], ["index", str(root)]):
        res = run(*command)
        assert res.exit_code == 1, res.output
        assert "internal error" not in res.output
        assert f"{captions}: line 2: not UTF-8 text (byte 0xe8 at column 25)" in res.output
    (root / "metadata_full.csv").write_bytes(b"video,prompt,video_name,start_frame,end_frame\n\xff\n")
    res = run("check", str(root), "--label-frames", "1")
    assert res.exit_code == 1 and f"{root / 'metadata_full.csv'}: line 2: not UTF-8 text" in res.output
