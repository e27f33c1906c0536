"""``metadata_full.csv``, the window index Echo-Memory trains from, read and written exactly
as Echo-Memory's ``src/data/preprocess_cam_dataset.py`` writes it.

Columns ``video,prompt,video_name,start_frame,end_frame``. For every scene folder under
``frames/`` (sorted) with at least ``window`` PNGs, one row per window of ``window`` (81)
frames every ``window // 2`` (40) frames, starting at 0; ``end_frame`` is inclusive.
``video`` is ``frames/`` followed by the window's frame paths (``<Scene>/<file>.png``,
the folder's PNGs sorted by name) joined by ``|``. ``prompt`` is the scene's first
caption in ``captions.txt`` (per-segment or per-scene lines alike), or ``A scene from
<Scene>`` without one. The CSV module's defaults (``\\r\\n`` line ends, minimal quoting)
match Echo's ``csv.DictWriter``, so the bytes are the same.

The file is optional in the dataset: without it, :func:`windows` derives the same rows.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from echodsl.data import cam
from echodsl.data.decode import read_text
from echodsl.errors import DataError

METADATA = "metadata_full.csv"
COLUMNS = ("video", "prompt", "video_name", "start_frame", "end_frame")
WINDOW = 81


@dataclass(frozen=True)
class Window:
    """One row of ``metadata_full.csv``."""

    video: str
    prompt: str
    video_name: str
    start_frame: int
    end_frame: int  # inclusive

    def frame_paths(self) -> list[str]:
        """The window's frame paths relative to ``frames/`` (``<Scene>/0000.png``, ...)."""
        return self.video.removeprefix("frames" + os.sep).removeprefix("frames/").split("|")


def window_starts(frames: int, window: int = WINDOW) -> list[int]:
    """Start frames of Echo's windows over a ``frames``-long scene (stride ``window // 2``)."""
    return list(range(0, frames - window + 1, max(1, window // 2)))


def scene_png_names(root: Path, name: str) -> list[str]:
    return sorted(n for n in cam.frame_files(root, name) if n.endswith(".png"))


def derive_windows(root: str | os.PathLike, window: int = WINDOW) -> Iterator[Window]:
    """Echo's rows for ``root``, in Echo's order, one scene folder listing at a time."""
    root = Path(root)
    captions = cam.read_captions(root)
    frames_dir = root / "frames"
    if not frames_dir.is_dir():
        raise DataError("no frames/ folder", str(frames_dir))
    scenes = sorted(e.name for e in os.scandir(frames_dir) if e.is_dir())
    for scene in scenes:
        files = [f"{scene}/{n}" for n in scene_png_names(root, scene)]
        prompt = captions.get(scene, f"A scene from {scene}")
        for s in window_starts(len(files), window):
            part = files[s : s + window]
            yield Window(os.path.join("frames", "|".join(part)), prompt, scene, s, s + window - 1)


def write_index(root: str | os.PathLike, out: str | os.PathLike | None = None,
                window: int = WINDOW) -> dict:
    """Write ``metadata_full.csv`` (default ``ROOT/metadata_full.csv``); returns a summary."""
    root = Path(root)
    out = Path(out) if out is not None else root / METADATA
    rows, scenes = 0, set()
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for w in derive_windows(root, window):
            writer.writerow({"video": w.video, "prompt": w.prompt, "video_name": w.video_name,
                             "start_frame": w.start_frame, "end_frame": w.end_frame})
            rows += 1
            scenes.add(w.video_name)
    os.replace(tmp, out)  # a killed run never leaves half an index behind
    return {"path": str(out), "windows": rows, "scenes": len(scenes)}


def read_index(root: str | os.PathLike) -> list[Window]:
    """Rows of ``ROOT/metadata_full.csv``; DataError naming the file and row if a column is
    missing or a frame number is not an integer (the older ``sequence,start_frame,end_frame``
    layout is refused with the expected header)."""
    path = Path(root) / METADATA
    try:
        text = read_text(path)
    except FileNotFoundError:
        raise DataError("window metadata is missing", str(path)) from None
    with io.StringIO(text, newline="") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise DataError(f"expected Echo-Memory's columns {','.join(COLUMNS)}, found "
                            f"{','.join(reader.fieldnames or ['nothing'])}", str(path))
        out = []
        for row_no, row in enumerate(reader, 2):
            s, e = row["start_frame"], row["end_frame"]
            if not (s and e and s.isdigit() and e.isdigit()):
                raise DataError(f"row {row_no}: start_frame/end_frame must be integers, got {s!r}, {e!r}", str(path))
            out.append(Window(row["video"] or "", row["prompt"] or "", row["video_name"] or "", int(s), int(e)))
    return out


def windows(root: str | os.PathLike) -> tuple[list[Window], str]:
    """The windows of ``root`` and where they came from: ``metadata_full.csv`` if present,
    else derived as Echo-Memory would write it."""
    if (Path(root) / METADATA).exists():
        return read_index(root), METADATA
    return list(derive_windows(root)), "derived"
