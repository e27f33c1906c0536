"""Read and write the Context-as-Memory dataset exactly as it is distributed::

    ROOT/frames/<Scene>/0000.png ...            4-digit zero-padded frame numbers
    ROOT/jsons/<Scene>.json                     {"CineCameraActor": {"0": {"position": [x, y, z],
                                                                       "rotation": [roll, pitch, yaw]}, ...}}
    ROOT/overlap_labels/<Scene>/<f>.json        unpadded (0.json, 1.json, ...; padded names are
                                                accepted too): {"frame_index": "f", "overlapping_frames":
                                                ["g", ...]}, indices as digit strings (integers are
                                                read too; written as strings, as released)
    ROOT/captions.txt                           "<Scene>/<start>_<end>.mp4<TAB>caption" per segment
                                                (the older "<Scene><TAB>caption" is accepted too)
    ROOT/metadata_full.csv                      Echo-Memory's window index (optional; see index.py)

Camera convention (tested, drawn in docs/data.md): Unreal writes positions in centimetres
in its left-handed world (X forward, Y right, Z up) and rotations as (roll, pitch, yaw)
degrees applied yaw, pitch, roll, with yaw turning toward +Y, pitch up and roll dropping
the right side. The loader returns metres in a right-handed world (x = X, y = -Y, z = Z)
and OpenCV camera-to-world matrices; so yaw flips sign and pitch and roll keep theirs. An
optional top-level ``"echodsl": {"fov_deg": ...}`` block records the horizontal field of
view (the dataset has none; otherwise ``CamConfig.fov_deg`` is assumed).

Opening a root is lazy: names come from one directory listing; a sequence's JSON is
parsed the first time it is asked for and its PNGs are decoded only when frames are.
"""

from __future__ import annotations

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
from echodsl.data.decode import read_text
from echodsl.data.sequence import Sequence
from echodsl.errors import DataError

ACTOR = "CineCameraActor"
CAPTIONS = "captions.txt"
# A frame larger than this (8192 x 8192) is refused before it is decoded: a forged PNG
# header must not allocate gigabytes.
MAX_FRAME_PIXELS = 8192 * 8192


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


# --- strict JSON values -------------------------------------------------------------------

def is_int(value) -> bool:
    """A JSON integer (``true`` and ``5.0`` are not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def label_index(value) -> int | None:
    """A frame index of an overlap label: a JSON integer or, as the released dataset writes
    them, a string of ASCII digits ("0", "2796"); None for anything else (true, 5.0, "-1",
    " 7", "1e3")."""
    if is_int(value):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def is_number(value) -> bool:
    """A JSON number (``true`` and ``"1"`` are not)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def describe(value) -> str:
    """``value`` as a short JSON snippet for an error message."""
    text = json.dumps(value) if not isinstance(value, float) or math.isfinite(value) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


# --- paths --------------------------------------------------------------------------------

def frame_name(index: int) -> str:
    return f"{index:04d}.png"


def frame_path(root: Path, name: str, index: int) -> Path:
    return Path(root) / "frames" / name / frame_name(index)


def json_path(root: Path, name: str) -> Path:
    return Path(root) / "jsons" / f"{name}.json"


def labels_dir(root: Path, name: str) -> Path:
    return Path(root) / "overlap_labels" / name


def list_sequences(root: str | os.PathLike) -> list[str]:
    """Sequence names found under ``jsons/`` or ``frames/``, sorted (two directory listings)."""
    root = Path(root)
    names: set[str] = set()
    for folder, want_dir in ((root / "jsons", False), (root / "frames", True)):
        if folder.is_dir():
            with os.scandir(folder) as it:
                for entry in it:
                    if want_dir and entry.is_dir():
                        names.add(entry.name)
                    elif not want_dir and entry.name.endswith(".json") and entry.is_file():
                        names.add(entry.name[:-5])
    return sorted(names)


# --- writing ------------------------------------------------------------------------------

def write_sequence(root: str | os.PathLike, name: str, frames: torch.Tensor, poses: torch.Tensor,
                   fov_deg: float, labels: dict[int, list[int]] | None = None) -> None:
    """Write frames (T, 3, H, W) uint8, poses (T, 4, 4) and optional overlap labels
    (``overlap_labels/<name>/<f>.json``, unpadded like the dataset)."""
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
        folder = labels_dir(root, name)
        folder.mkdir(parents=True, exist_ok=True)
        for f, others in labels.items():
            # Strings, as the released dataset writes them: its loader reads integers as no labels.
            doc = {"frame_index": str(f), "overlapping_frames": [str(o) for o in others]}
            (folder / f"{f}.json").write_text(json.dumps(doc))


def write_captions(root: str | os.PathLike, segments: list[tuple[str, int, int, str]]) -> None:
    """``captions.txt`` in the dataset's form: one ``<Scene>/<start>_<end>.mp4<TAB>caption``
    line per (scene, start, end, caption) segment."""
    lines = [f"{name}/{s}_{e}.mp4\t{' '.join(text.split())}" for name, s, e, text in segments]
    (Path(root) / CAPTIONS).write_text("\n".join(lines) + "\n", encoding="utf-8")


# --- reading: cameras ---------------------------------------------------------------------

def read_json(path: Path, what: str):
    """The parsed JSON document at ``path``; a DataError naming the file if it is missing
    (as ``what``) or not valid JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{what} is missing", str(path)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"not valid JSON ({exc})", str(path)) from None


def read_camera_json(path: str | os.PathLike) -> tuple[torch.Tensor, dict]:
    """Poses (T, 4, 4) and the ``echodsl`` block of one sequence JSON; DataError naming
    the file and the field if it is unreadable, its frame numbers are not exactly 0..T-1,
    or a pose is not three finite numbers. A file without the ``CineCameraActor`` wrapper
    (frames at the top level) is read too, as Echo-Memory's preprocessing does."""
    path = Path(path)
    doc = read_json(path, "camera JSON")
    if not isinstance(doc, dict):
        raise DataError(f"expected an object with {ACTOR!r}", str(path))
    frames = doc.get(ACTOR, {k: v for k, v in doc.items() if k != "echodsl"})
    if not isinstance(frames, dict) or not frames:
        raise DataError(f"no frames in {ACTOR!r}", str(path))
    by_index: dict[int, dict] = {}
    for key, value in frames.items():
        if not (isinstance(key, str) and key.isascii() and key.isdigit()):
            raise DataError(f"{ACTOR} key {key!r} is not a frame number", str(path))
        index = int(key)
        if index in by_index:
            raise DataError(f"frame {index} appears twice ({key!r})", str(path))
        by_index[index] = value
    n = len(by_index)
    # Bounded by the frames present, never by the largest key (a key of 1e9 must not
    # allocate a billion-entry range).
    missing = [i for i in range(n) if i not in by_index]
    if missing:
        beyond = sorted(k for k in by_index if k >= n)[:3]
        raise DataError(f"frames are not numbered 0..{n - 1}: missing {missing[:5]}, "
                        f"beyond {beyond}", str(path))
    pos = np.empty((n, 3), dtype=np.float64)
    rot = np.empty((n, 3), dtype=np.float64)
    for i in range(n):
        entry = by_index[i]
        for field, out in (("position", pos), ("rotation", rot)):
            value = entry.get(field) if isinstance(entry, dict) else None
            if not (isinstance(value, list) and len(value) == 3 and all(is_number(v) for v in value)):
                raise DataError(f"{ACTOR}.{i}.{field} must be 3 numbers, got {describe(value)}", str(path))
            out[i] = value
    bad = ~(np.isfinite(pos).all(1) & np.isfinite(rot).all(1))
    if bad.any():
        raise DataError(f"non-finite pose at frame {int(bad.nonzero()[0][0])}", str(path))
    meta = doc.get("echodsl", {})
    if not isinstance(meta, dict) or ("fov_deg" in meta and not (is_number(meta["fov_deg"])
                                                                  and 0 < meta["fov_deg"] < 180)):
        raise DataError(f"echodsl.fov_deg must be a number in (0, 180), got {describe(meta)}", str(path))
    return pose_from_unreal(torch.from_numpy(pos), torch.from_numpy(rot)), meta


# --- reading: frames ----------------------------------------------------------------------

def _open_image(path: str | os.PathLike) -> Image.Image:
    """PIL image with a bounded size (header only), or DataError naming the file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
    except FileNotFoundError:
        raise DataError("frame is missing", str(path)) from None
    except Image.DecompressionBombError as exc:
        raise DataError(f"image too large ({exc})", str(path)) from None
    except OSError as exc:
        raise DataError(f"corrupt image ({exc})", str(path)) from None
    if im.width * im.height > MAX_FRAME_PIXELS:
        im.close()
        raise DataError(f"image is {im.width}x{im.height} pixels; frames above {MAX_FRAME_PIXELS} "
                        "pixels are refused", str(path))
    return im


def frame_size(path: str | os.PathLike, verify: bool = False) -> tuple[int, int]:
    """(height, width) of a PNG from its header; ``verify`` also checks every chunk's CRC
    without decoding the pixels."""
    im = _open_image(path)
    try:
        size = (im.height, im.width)
        if verify:
            im.verify()
    except (OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"corrupt image ({exc})", str(path)) from None
    finally:
        im.close()
    return size


def read_frame(path: str | os.PathLike, size: tuple[int, int] | None = None) -> torch.Tensor:
    """One PNG as (3, H, W) uint8, resized to ``size`` = (height, width) if given."""
    im = _open_image(path)
    try:
        with im:
            rgb = im.convert("RGB")
            if size is not None and (rgb.height, rgb.width) != size:
                rgb = rgb.resize((size[1], size[0]), Image.BILINEAR)
            arr = np.asarray(rgb)
    except OSError as exc:
        raise DataError(f"corrupt image ({exc})", str(path)) from None
    return torch.from_numpy(arr.copy()).permute(2, 0, 1)


# --- reading: captions and labels ---------------------------------------------------------

@dataclass(frozen=True)
class CaptionLine:
    scene: str
    start: int | None  # None for the older one-caption-per-scene line
    end: int | None
    text: str
    line: int


def read_caption_lines(root: str | os.PathLike) -> list[CaptionLine]:
    """Every caption of ``captions.txt`` in file order; [] if there is no such file.
    DataError (file and line) for a line without a TAB or with a malformed segment name."""
    path = Path(root) / CAPTIONS
    if not path.exists():
        return []
    out = []
    for no, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        key, tab, text = line.partition("\t")
        if not tab:
            raise DataError(f"line {no}: expected '<Scene>/<start>_<end>.mp4<TAB>caption'", str(path))
        key = key.strip()
        scene, slash, seg = key.partition("/")
        if not slash:
            out.append(CaptionLine(scene, None, None, text.strip(), no))
            continue
        stem = seg[:-4] if seg.endswith(".mp4") else None
        start, us, end = (stem or "").partition("_")
        if not (stem and us and start.isdigit() and end.isdigit() and int(start) <= int(end)):
            raise DataError(f"line {no}: segment {key!r} is not '<Scene>/<start>_<end>.mp4'", str(path))
        out.append(CaptionLine(scene, int(start), int(end), text.strip(), no))
    return out


def read_captions(root: str | os.PathLike) -> dict[str, str]:
    """{scene: caption}: a scene's first caption in file order, whether written per segment
    or per scene; the rule Echo-Memory's preprocessing uses for a window's prompt."""
    out: dict[str, str] = {}
    for c in read_caption_lines(root):
        if c.text:
            out.setdefault(c.scene, c.text)
    return out


def label_files(root: str | os.PathLike, name: str) -> dict[int, list[Path]]:
    """{frame: files} under ``overlap_labels/<name>/``: ``5.json`` and the padded
    ``0005.json`` both name frame 5 (two files for one frame is a conflict to report)."""
    folder = labels_dir(Path(root), name)
    out: dict[int, list[Path]] = {}
    if folder.is_dir():
        with os.scandir(folder) as it:
            for entry in it:
                stem = entry.name[:-5] if entry.name.endswith(".json") else ""
                if stem.isascii() and stem.isdigit():
                    out.setdefault(int(stem), []).append(folder / entry.name)
    for paths in out.values():
        paths.sort(key=lambda p: len(p.name))  # the unpadded name first: it is the one used
    return out


def read_label_file(path: Path, frame: int) -> list[int]:
    """Overlapping frames of one label file; DataError naming file and field if it is not
    ``{"frame_index": <frame>, "overlapping_frames": [<index>, ...]}`` where an index is an
    integer or a digit string (the released dataset writes strings)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"not valid JSON ({exc})", str(path)) from None
    if not isinstance(doc, dict):
        raise DataError("expected {frame_index, overlapping_frames}", str(path))
    raw_index, others = doc.get("frame_index"), doc.get("overlapping_frames")
    index = label_index(raw_index)
    if index is None:
        raise DataError(f"frame_index must be an integer or a digit string, got {describe(raw_index)}", str(path))
    if index != frame:
        raise DataError(f"frame_index {index} does not match the file name (frame {frame})", str(path))
    if not isinstance(others, list):
        raise DataError(f"overlapping_frames must be a list of frame indices, got {describe(others)}", str(path))
    out = []
    for i, value in enumerate(others):
        parsed = label_index(value)
        if parsed is None:
            raise DataError(f"overlapping_frames[{i}] must be an integer or a digit string, got {describe(value)}",
                            str(path))
        out.append(parsed)
    return out


# --- sequences ----------------------------------------------------------------------------

def frame_files(root: Path, name: str) -> set[str]:
    """File names in ``frames/<name>/`` (one listing; no per-frame stat)."""
    folder = Path(root) / "frames" / name
    if not folder.is_dir():
        return set()
    with os.scandir(folder) as it:
        return {e.name for e in it}


def read_sequence(root: str | os.PathLike, name: str, config: CamConfig | None = None,
                  caption: str = "") -> Sequence:
    """One sequence; frames load lazily. Every PNG the JSON implies must exist."""
    config = config or CamConfig()
    root = Path(root)
    poses, meta = read_camera_json(json_path(root, name))
    present = frame_files(root, name)
    missing = [i for i in range(len(poses)) if frame_name(i) not in present]
    if missing:
        raise DataError(f"{len(missing)} of {len(poses)} frames missing (first shown)",
                        str(frame_path(root, name, missing[0])))
    paths = [frame_path(root, name, i) for i in range(len(poses))]
    h0, w0 = frame_size(paths[0])
    h, w = config.height or h0, config.width or w0
    fov = float(meta.get("fov_deg", config.fov_deg))
    # Square pixels in the stored image; a resize scales the focal lengths per axis.
    f = (w0 / 2.0) / math.tan(math.radians(fov) / 2.0)
    k = torch.tensor([[f * w / w0, 0.0, w / 2.0], [0.0, f * h / h0, h / 2.0], [0.0, 0.0, 1.0]],
                     dtype=torch.float64)
    return Sequence(name, poses, k, h, w, caption,
                    lambda idx: torch.stack([read_frame(paths[i], (h, w)) for i in idx]))


class CamSource:
    """Every sequence of a Context-as-Memory root, as a :class:`SequenceSource`.

    Opening lists the names and reads ``captions.txt``; a sequence's camera JSON is read
    on first use and kept (its poses are small; its frames are never kept)."""

    def __init__(self, root: str | os.PathLike, config: CamConfig | None = None):
        self.root = Path(root)
        if not (self.root / "jsons").is_dir():
            raise DataError("not a Context-as-Memory root (no jsons/ folder)", str(self.root))
        self.config = config or CamConfig()
        self.names = [n for n in list_sequences(self.root) if json_path(self.root, n).exists()]
        self.captions = read_captions(self.root)
        self._loaded: dict[int, Sequence] = {}

    def __len__(self) -> int:
        return len(self.names)

    def sequence(self, index: int) -> Sequence:
        if index not in self._loaded:
            name = self.names[index]
            if name not in self.captions:
                warnings.warn(f"{name}: no caption in captions.txt; using an empty one", stacklevel=2)
            self._loaded[index] = read_sequence(self.root, name, self.config, self.captions.get(name, ""))
        return self._loaded[index]
