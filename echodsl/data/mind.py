"""The MIND benchmark's ground truth (github CSU-JPG/MIND), read as a sequence source so its
clips can drive rollouts::

    ROOT/{1st,3rd}_data/test/{mem_test,action_space_test}/<name>/action.json
                                                               /video.mp4    (24 fps)
                                                               /images.txt   (optional, COLMAP)
    ROOT/{1st,3rd}_data/train/<name>/...                       (the training split)

``action.json``: ``{"mark_time": m, "total_time": T, "caption": str, "data": [{"time", "ws",
"ad", "ud", "lr", "actor_pos": {x, y, z}, "actor_rpy": {x: roll, y: pitch, z: yaw},
"camera_pos", "camera_rpy" (3rd person only)}, ...]}``. Frames ``m..T-1`` are what a model
must predict; frames before ``m`` are the memory context. Action codes follow MIND's
evaluation code (not its README, which differs): ``ws`` 1 forward, 2 backward; ``ad`` 1
left, 2 right; ``ud`` 1 look up, 2 look down; ``lr`` 1 look left, 2 look right; 0 none.

Poses come from ``action.json`` (Unreal centimetres and degrees, converted like the
Context-as-Memory JSONs): the camera for 3rd-person clips, the actor for 1st-person ones.
``images.txt`` is MIND's cached ViPE trajectory of the predicted frames in COLMAP's
world-to-camera form at ViPE's arbitrary scale; it is read (``Clip.colmap``) for
comparison, never mixed with the Unreal poses. MIND ships no intrinsics; ``fov_deg``
(default 90, Unreal's default) is assumed.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from echodsl.data.cam import describe, is_int, is_number, pose_from_unreal, read_json
from echodsl.data.camera import intrinsics_from_fov
from echodsl.data.sequence import Sequence
from echodsl.errors import DataError

PERSPECTIVES = ("1st_data", "3rd_data")
TESTS = ("mem_test", "action_space_test")
MIRROR = "mirror_test"
ACTION_CODES = {"ws": ("forward", "backward"), "ad": ("left", "right"), "ud": ("look_up", "look_down"),
                "lr": ("look_left", "look_right")}


@dataclass(frozen=True)
class Clip:
    """One ground-truth clip: where it is, its split, and what ``action.json`` says."""

    directory: Path
    perspective: str  # 1st_data | 3rd_data
    test: str  # mem_test | action_space_test | train
    mark_time: int
    total_time: int
    caption: str
    poses: torch.Tensor  # (T, 4, 4) camera-to-world, metres, OpenCV axes
    actions: tuple[str, ...]  # per frame, e.g. "forward+look_left" or "no_op"
    colmap: torch.Tensor | None  # (N, 4, 4) camera-to-world from images.txt, or None

    @property
    def name(self) -> str:
        return self.directory.name

    @property
    def key(self) -> str:
        """``<perspective>/<test>/<name>``: unique within a root."""
        return f"{self.perspective}/{self.test}/{self.name}"

    @property
    def video(self) -> Path:
        return self.directory / "video.mp4"

    @property
    def predicted(self) -> int:
        """Frames a submission's video.mp4 must hold: ``total_time - mark_time``."""
        return self.total_time - self.mark_time


def _xyz(entry: dict, field: str, i: int, path: Path) -> list[float]:
    value = entry.get(field)
    if not (isinstance(value, dict) and all(is_number(value.get(a)) for a in "xyz")):
        raise DataError(f"data[{i}].{field} must be {{x, y, z}} numbers, got {describe(value)}", str(path))
    return [float(value[a]) for a in "xyz"]


def read_action_json(path: str | os.PathLike, perspective: str) -> tuple[int, int, str, torch.Tensor, tuple[str, ...]]:
    """(mark_time, total_time, caption, poses (T, 4, 4), actions) of one ``action.json``;
    DataError naming the file and field for anything missing or mistyped."""
    path = Path(path)
    doc = read_json(path, "action.json")
    if not isinstance(doc, dict):
        raise DataError("expected an object with mark_time, total_time, data", str(path))
    mark, total, data = doc.get("mark_time"), doc.get("total_time"), doc.get("data")
    for field, value in (("mark_time", mark), ("total_time", total)):
        if not is_int(value):
            raise DataError(f"{field} must be an integer, got {describe(value)}", str(path))
    if not 0 < mark < total:
        raise DataError(f"need 0 < mark_time < total_time, got {mark} and {total}", str(path))
    if not isinstance(data, list) or len(data) != total:
        raise DataError(f"data must list total_time = {total} frames, got "
                        f"{len(data) if isinstance(data, list) else describe(data)}", str(path))
    caption = doc.get("caption", "")
    if not isinstance(caption, str):
        raise DataError(f"caption must be a string, got {describe(caption)}", str(path))
    pos_field, rot_field = ("camera_pos", "camera_rpy") if perspective == "3rd_data" else ("actor_pos", "actor_rpy")
    pos, rot, actions = np.empty((total, 3)), np.empty((total, 3)), []
    for i, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise DataError(f"data[{i}] must be an object", str(path))
        parts = []
        for key, names in ACTION_CODES.items():
            code = entry.get(key, 0)
            if not (is_int(code) and code in (0, 1, 2)):
                raise DataError(f"data[{i}].{key} must be 0, 1 or 2, got {describe(code)}", str(path))
            if code:
                parts.append(names[code - 1])
        actions.append("+".join(parts) or "no_op")
        pos[i] = _xyz(entry, pos_field, i, path)
        roll, pitch, yaw = _xyz(entry, rot_field, i, path)  # rpy: x roll, y pitch, z yaw
        rot[i] = (roll, pitch, yaw)
    if not (np.isfinite(pos).all() and np.isfinite(rot).all()):
        raise DataError("non-finite pose", str(path))
    poses = pose_from_unreal(torch.from_numpy(pos), torch.from_numpy(rot))
    return mark, total, caption, poses, tuple(actions)


def _quat_to_matrix(qw: float, qx: float, qy: float, qz: float) -> np.ndarray:
    n = math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz)
    if n < 1e-12:
        raise ValueError("zero quaternion")
    w, x, y, z = qw / n, qx / n, qy / n, qz / n
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


def read_colmap_images(path: str | os.PathLike) -> torch.Tensor:
    """Camera-to-world poses (N, 4, 4) from a COLMAP ``images.txt`` (each image: a line
    ``ID QW QX QY QZ TX TY TZ CAMERA_ID NAME`` holding world-to-camera, then a line of 2D
    points), ordered by image name as MIND's evaluation orders them."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    entries, i = [], 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        try:
            q = [float(v) for v in parts[1:5]]
            t = np.array([float(v) for v in parts[5:8]])
            name = parts[9]
            r_cw = _quat_to_matrix(*q)
        except (IndexError, ValueError):
            raise DataError(f"line {i}: expected 'ID QW QX QY QZ TX TY TZ CAMERA_ID NAME'", str(path)) from None
        i += 1  # the image's 2D points line
        pose = np.eye(4)
        pose[:3, :3] = r_cw.T
        pose[:3, 3] = -r_cw.T @ t
        entries.append((name, pose))
    if not entries:
        raise DataError("no images", str(path))
    entries.sort(key=lambda e: e[0])
    return torch.from_numpy(np.stack([p for _, p in entries]))


def clip_dirs(root: str | os.PathLike, split: str = "test") -> list[tuple[str, str, Path]]:
    """(perspective, test, directory) of every clip under ``root`` for ``split`` (``test``:
    both test sets; ``train``), in a stable order."""
    root = Path(root)
    out = []
    for persp in PERSPECTIVES:
        groups = [(t, root / persp / "test" / t) for t in TESTS] if split == "test" else [("train", root / persp / "train")]
        for test, folder in groups:
            if folder.is_dir():
                out += [(persp, test, d) for d in sorted(folder.iterdir(), key=lambda p: p.name) if d.is_dir()]
    return out


def read_clip(perspective: str, test: str, directory: Path) -> Clip:
    mark, total, caption, poses, actions = read_action_json(directory / "action.json", perspective)
    colmap = read_colmap_images(directory / "images.txt") if (directory / "images.txt").exists() else None
    return Clip(directory, perspective, test, mark, total, caption, poses, actions, colmap)


class MindSource:
    """MIND clips as a :class:`SequenceSource` (``data mind(root = ...)``). A clip's
    ``action.json`` is read on first use; its frames are decoded from ``video.mp4`` on
    demand, resized to ``height`` x ``width`` (default: as stored)."""

    def __init__(self, root: str | os.PathLike, split: str = "test", height: int | None = None,
                 width: int | None = None, fov_deg: float = 90.0):
        self.root = Path(root)
        if not any((self.root / p).is_dir() for p in PERSPECTIVES):
            raise DataError("not a MIND root (no 1st_data/ or 3rd_data/ folder)", str(self.root))
        self.split, self.height, self.width, self.fov_deg = split, height, width, fov_deg
        self.dirs = clip_dirs(self.root, split)
        self._clips: dict[int, Clip] = {}

    def __len__(self) -> int:
        return len(self.dirs)

    def clip(self, index: int) -> Clip:
        if index not in self._clips:
            self._clips[index] = read_clip(*self.dirs[index])
        return self._clips[index]

    def sequence(self, index: int) -> Sequence:
        from echodsl.data.video import read_video

        clip = self.clip(index)
        if self.height is None or self.width is None:
            h0, w0 = read_video(clip.video, [0]).shape[-2:]
        h, w = self.height or h0, self.width or w0
        size = (h, w)
        return Sequence(clip.key, clip.poses, intrinsics_from_fov(w, h, self.fov_deg), h, w, clip.caption,
                        lambda idx: read_video(clip.video, idx, size))
