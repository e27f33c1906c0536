"""Rollout frames kept beside a run, so a study report can show them at any later time.

For every scored return probe the evaluation writes three small files into
``<run>/eval/frames/``:

* ``<case>.generated.png``: the rollout's T frames side by side (H x T*W, RGB, lossless);
* ``<case>.truth.png``: the probe's rendered ground truth in the same layout;
* ``<case>.json``: the manifest: which frame is the anchor, which are away, which are
  the revisit, and the anchor's description.

One strip per case instead of one file per frame keeps the run directory and the
store's ``artifacts`` table small (three rows per case). The runner logs the files as
artifacts (path + sha256); :func:`read_probe_frames` reads them back with Pillow only,
so a report never needs torch.

Letters: T frames, H/W pixels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

if TYPE_CHECKING:  # torch and the world are only needed by the writer's caller
    import torch

    from echodsl.data.world import Probe

FRAMES_DIR = "frames"
FORMAT_VERSION = "1.0"


@dataclass(frozen=True)
class ProbeFrames:
    """One probe's rollout as saved: per-frame images and the probe's frame roles."""

    case_id: str
    split: str  # "in" | "open"
    anchor: str  # e.g. "a red striped sphere"
    anchor_frame: int
    away: tuple[int, ...]
    revisit: tuple[int, ...]
    generated: tuple[Image.Image, ...]  # T RGB frames
    truth: tuple[Image.Image, ...]  # T RGB frames


def frame_dir(eval_dir: str | Path) -> Path:
    return Path(eval_dir) / FRAMES_DIR


def save_probe_frames(eval_dir: str | Path, probe: "Probe", generated: "torch.Tensor") -> list[Path]:
    """Write one probe's generated (T, 3, H, W) frames in [-1, 1] and its ground truth;
    returns the written paths (strips first, manifest last)."""
    out = frame_dir(eval_dir)
    out.mkdir(parents=True, exist_ok=True)
    assert generated.shape == probe.frames.shape, (tuple(generated.shape), tuple(probe.frames.shape))
    gen8 = ((generated.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(probe.frames.dtype)
    names = {"generated": f"{probe.name}.generated.png", "truth": f"{probe.name}.truth.png"}
    _strip(gen8).save(out / names["generated"], optimize=True)
    _strip(probe.frames).save(out / names["truth"], optimize=True)
    t, _, h, w = probe.frames.shape
    manifest = {"format_version": FORMAT_VERSION, "case_id": probe.name, "split": probe.split,
                "anchor": probe.anchor, "anchor_frame": 0, "away": list(probe.away), "revisit": list(probe.revisit),
                "frames": t, "height": h, "width": w, **names}
    (out / f"{probe.name}.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return [out / names["generated"], out / names["truth"], out / f"{probe.name}.json"]


def saved_frame_files(eval_dir: str | Path) -> list[Path]:
    """Every frame file of a run's evaluation (manifests and the strips they name)."""
    out = frame_dir(eval_dir)
    files = []
    for manifest in sorted(out.glob("*.json")):
        data = json.loads(manifest.read_text(encoding="utf-8"))
        files += [p for p in (out / data["generated"], out / data["truth"]) if p.is_file()] + [manifest]
    return files


def read_probe_frames(manifest: str | Path) -> ProbeFrames:
    """Read back what :func:`save_probe_frames` wrote (``manifest`` is the ``.json``)."""
    path = Path(manifest)
    data = json.loads(path.read_text(encoding="utf-8"))
    t, w = data["frames"], data["width"]
    return ProbeFrames(data["case_id"], data["split"], data["anchor"], data["anchor_frame"], tuple(data["away"]),
                       tuple(data["revisit"]), _unstrip(path.parent / data["generated"], t, w),
                       _unstrip(path.parent / data["truth"], t, w))


def _strip(frames: "torch.Tensor") -> Image.Image:
    """(T, 3, H, W) uint8 -> one H x (T*W) RGB image."""
    t, c, h, w = frames.shape
    row = frames.permute(2, 0, 3, 1).reshape(h, t * w, c).contiguous().numpy()  # (H, T*W, 3)
    return Image.fromarray(row, "RGB")


def _unstrip(path: Path, t: int, w: int) -> tuple[Image.Image, ...]:
    with Image.open(path) as img:
        strip = img.convert("RGB")
    if strip.width != t * w:
        raise ValueError(f"{path}: {strip.width} px wide, expected {t} frames of {w} px")
    return tuple(strip.crop((i * w, 0, (i + 1) * w, strip.height)) for i in range(t))
