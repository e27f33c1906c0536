"""Read and write the Context-as-Memory on-disk layout::

    ROOT/frames/<Scene>_<i>/0000.png ...
    ROOT/jsons/<Scene>_<i>.json          {"CineCameraActor": {"0": {"position": [x, y, z],
                                                                   "rotation": [roll, pitch, yaw]}, ...}}
    ROOT/overlap_labels/<Scene>_<i>/0000.json   {"frame_index": 0, "overlapping_frames": [...]}
    ROOT/captions.txt                    one "<Scene>_<i><TAB>caption" per line
    ROOT/metadata_full.csv               columns sequence,start_frame,end_frame (81-frame windows,
                                         end inclusive)

Camera convention (tested): Unreal writes positions in centimetres in its left-handed
world (X forward, Y right, Z up) and rotations as (roll, pitch, yaw) degrees applied yaw,
pitch, roll, with yaw turning toward +Y, pitch up and roll dropping the right side. The
loader returns metres in a right-handed world (x = X, y = -Y, z = Z) and OpenCV
camera-to-world matrices; so yaw flips sign and pitch and roll keep theirs. An optional
top-level ``"echodsl": {"fov_deg": ...}`` block records the horizontal field of view
(the layout has none; otherwise ``CamConfig.fov_deg`` is assumed).
"""

from __future__ import annotations

import csv
import json
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from echodsl.data.camera import euler_from_pose, pose_from_euler
from echodsl.data.sequence import Sequence
from echodsl.errors import DataError

ACTOR = "CineCameraActor"
METADATA = "metadata_full.csv"
WINDOW_COLUMNS = ("sequence", "start_frame", "end_frame")


@dataclass(frozen=True)
class CamConfig:
    """How to read a Context-as-Memory root."""

    fov_deg: float = 90.0  # horizontal FOV when a sequence JSON does not record one
    height: int | None = None  # resize frames on load (None: as stored)
    width: int | None = None


# --- camera conversion --------------------------------------------------------------------

def pose_from_unreal(position_cm: torch.Tensor, rotation_deg: torch.Tensor) -> torch.Tensor:
    """Camera-to-world (..., 4, 4) metres/OpenCV from Unreal position (..., 3) in cm and
    rotation (..., 3) = (roll, pitch, yaw) in degrees."""
    p = torch.as_tensor(position_cm, dtype=torch.float64) / 100.0
    r = torch.deg2rad(torch.as_tensor(rotation_deg, dtype=torch.float64))
    pos = torch.stack([p[..., 0], -p[..., 1], p[..., 2]], -1)
    return pose_from_euler(pos, -r[..., 2], r[..., 1], r[..., 0])


def unreal_from_pose(pose: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Inverse of :func:`pose_from_unreal`: (position cm (..., 3), rotation deg (..., 3))."""
    yaw, pitch, roll = euler_from_pose(pose)
    t = pose[..., :3, 3].to(torch.float64) * 100.0
    pos = torch.stack([t[..., 0], -t[..., 1], t[..., 2]], -1)
    rot = torch.rad2deg(torch.stack([roll, pitch, -yaw], -1))
    return pos, rot


# --- paths --------------------------------------------------------------------------------

def frame_path(root: Path, name: str, index: int) -> Path:
    return Path(root) / "frames" / name / f"{index:04d}.png"


def json_path(root: Path, name: str) -> Path:
    return Path(root) / "jsons" / f"{name}.json"


def list_sequences(root: str | os.PathLike) -> list[str]:
    """Sequence names found under ``jsons/`` or ``frames/``, sorted."""
    root = Path(root)
    names = {p.stem for p in (root / "jsons").glob("*.json")}
    names |= {p.name for p in (root / "frames").iterdir() if p.is_dir()} if (root / "frames").is_dir() else set()
    return sorted(names)


# --- writing ------------------------------------------------------------------------------

def write_sequence(root: str | os.PathLike, name: str, frames: torch.Tensor, poses: torch.Tensor,
                   fov_deg: float, labels: dict[int, list[int]] | None = None) -> None:
    """Write frames (T, 3, H, W) uint8, poses (T, 4, 4) and optional overlap labels."""
    root = Path(root)
    (root / "frames" / name).mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        Image.fromarray(frame.permute(1, 2, 0).numpy()).save(frame_path(root, name, i))
    pos, rot = unreal_from_pose(poses)
    actor = {str(i): {"position": pos[i].tolist(), "rotation": rot[i].tolist()} for i in range(len(poses))}
    h, w = frames.shape[-2:]
    doc = {ACTOR: actor, "echodsl": {"fov_deg": fov_deg, "width": int(w), "height": int(h)}}
    (root / "jsons").mkdir(parents=True, exist_ok=True)
    json_path(root, name).write_text(json.dumps(doc))
    if labels is not None:
        folder = root / "overlap_labels" / name
        folder.mkdir(parents=True, exist_ok=True)
        for f, others in labels.items():
            (folder / f"{f:04d}.json").write_text(json.dumps({"frame_index": f, "overlapping_frames": others}))


def write_captions(root: str | os.PathLike, captions: dict[str, str]) -> None:
    lines = [f"{name}\t{' '.join(text.split())}" for name, text in sorted(captions.items())]
    (Path(root) / "captions.txt").write_text("\n".join(lines) + "\n")


def write_windows(root: str | os.PathLike, windows: list[tuple[str, int, int]]) -> None:
    with open(Path(root) / METADATA, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(WINDOW_COLUMNS)
        out.writerows(windows)


def windows_for(length: int, window: int = 81, stride: int = 40) -> list[tuple[int, int]]:
    """(start, end inclusive) of every ``window``-frame window every ``stride`` frames."""
    return [(s, s + window - 1) for s in range(0, length - window + 1, stride)]


# --- reading ------------------------------------------------------------------------------

def read_camera_json(path: str | os.PathLike) -> tuple[torch.Tensor, dict]:
    """Poses (T, 4, 4) and the ``echodsl`` block of one sequence JSON; DataError naming
    the file if it is unreadable, has a gap in its frame numbers, or a non-finite pose."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
        frames = doc[ACTOR]
    except FileNotFoundError:
        raise DataError("camera JSON is missing", str(path)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"not valid JSON ({exc})", str(path)) from None
    except (KeyError, TypeError):
        raise DataError(f"no {ACTOR!r} object", str(path)) from None
    try:
        keys = sorted(int(k) for k in frames)
    except (ValueError, TypeError):
        raise DataError(f"{ACTOR} keys must be frame numbers", str(path)) from None
    if keys != list(range(len(keys))) or not keys:
        missing = sorted(set(range(max(keys, default=-1) + 1)) - set(keys))[:5]
        raise DataError(f"frames are not numbered 0..{len(keys) - 1}; missing {missing}", str(path))
    try:
        pos = torch.tensor([frames[str(k)]["position"] for k in keys], dtype=torch.float64)
        rot = torch.tensor([frames[str(k)]["rotation"] for k in keys], dtype=torch.float64)
    except (KeyError, TypeError, ValueError):
        raise DataError("every frame needs a 3-number position and rotation", str(path)) from None
    if pos.shape != (len(keys), 3) or rot.shape != (len(keys), 3):
        raise DataError("every frame needs a 3-number position and rotation", str(path))
    bad = (~torch.isfinite(pos).all(1)) | (~torch.isfinite(rot).all(1))
    if bad.any():
        raise DataError(f"non-finite pose at frame {int(bad.nonzero()[0])}", str(path))
    return pose_from_unreal(pos, rot), doc.get("echodsl", {})


def read_frame(path: str | os.PathLike, size: tuple[int, int] | None = None) -> torch.Tensor:
    """One PNG as (3, H, W) uint8, resized to ``size`` = (height, width) if given."""
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if size is not None and (im.height, im.width) != size:
                im = im.resize((size[1], size[0]), Image.BILINEAR)
            arr = np.asarray(im)
    except FileNotFoundError:
        raise DataError("frame is missing", str(path)) from None
    except OSError as exc:
        raise DataError(f"corrupt image ({exc})", str(path)) from None
    return torch.from_numpy(arr.copy()).permute(2, 0, 1)


def read_captions(root: str | os.PathLike) -> dict[str, str]:
    """``captions.txt`` as {sequence: caption}; a missing file gives {}."""
    path = Path(root) / "captions.txt"
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        if line.strip():
            name, _, text = line.partition("\t")
            out[name.strip()] = text.strip()
    return out


def read_windows(root: str | os.PathLike) -> list[tuple[str, int, int]]:
    """Rows of the metadata CSV: (sequence, start_frame, end_frame inclusive)."""
    path = Path(root) / METADATA
    try:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        return [(r["sequence"], int(r["start_frame"]), int(r["end_frame"])) for r in rows]
    except FileNotFoundError:
        raise DataError("window metadata is missing", str(path)) from None
    except (KeyError, ValueError, TypeError):
        raise DataError(f"expected columns {','.join(WINDOW_COLUMNS)} with integer frames", str(path)) from None


def read_overlap_labels(root: str | os.PathLike, name: str) -> dict[int, list[int]]:
    """{frame: overlapping frames} of one sequence; DataError naming a malformed file."""
    out = {}
    for path in sorted((Path(root) / "overlap_labels" / name).glob("*.json")):
        try:
            doc = json.loads(path.read_text())
            out[int(doc["frame_index"])] = [int(i) for i in doc["overlapping_frames"]]
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            raise DataError("expected {frame_index, overlapping_frames}", str(path)) from None
    return out


def read_sequence(root: str | os.PathLike, name: str, config: CamConfig | None = None,
                  caption: str = "") -> Sequence:
    """One sequence; frames load lazily. Every PNG the JSON implies must exist."""
    config = config or CamConfig()
    root = Path(root)
    poses, meta = read_camera_json(json_path(root, name))
    paths = [frame_path(root, name, i) for i in range(len(poses))]
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise DataError(f"{len(missing)} of {len(paths)} frames missing (first shown)", str(missing[0]))
    with Image.open(paths[0]) as im:
        w0, h0 = im.size
    h, w = config.height or h0, config.width or w0
    fov = float(meta.get("fov_deg", config.fov_deg))
    # Square pixels in the stored image; a resize scales the focal lengths per axis.
    f = (w0 / 2.0) / math.tan(math.radians(fov) / 2.0)
    k = torch.tensor([[f * w / w0, 0.0, w / 2.0], [0.0, f * h / h0, h / 2.0], [0.0, 0.0, 1.0]],
                     dtype=torch.float64)
    return Sequence(name, poses, k, h, w, caption,
                    lambda idx: torch.stack([read_frame(paths[i], (h, w)) for i in idx]))


class CamSource:
    """Every sequence of a Context-as-Memory root, as a :class:`SequenceSource`."""

    def __init__(self, root: str | os.PathLike, config: CamConfig | None = None):
        self.root = Path(root)
        if not (self.root / "jsons").is_dir():
            raise DataError("not a Context-as-Memory root (no jsons/ folder)", str(self.root))
        captions = read_captions(self.root)
        self.sequences = []
        for name in list_sequences(self.root):
            if name not in captions:
                warnings.warn(f"{name}: no caption in captions.txt; using an empty one", stacklevel=2)
            self.sequences.append(read_sequence(self.root, name, config, captions.get(name, "")))

    def __len__(self) -> int:
        return len(self.sequences)

    def sequence(self, index: int) -> Sequence:
        return self.sequences[index]
