"""Write the embedded world in the Context-as-Memory layout, so one loader serves both."""

from __future__ import annotations

import os
from pathlib import Path

from tqdm import tqdm

from echodsl.data import cam
from echodsl.data.retriever import overlap_labels
from echodsl.data.world import World, sequence_name

LABEL_THRESHOLD = 0.25  # fraction of a frame's frustum another frame must see to count


def export_world(world: World, root: str | os.PathLike, *, window: int = 81, stride: int = 40,
                 progress: bool = False) -> dict:
    """Render every training sequence of ``world`` under ``root`` (frames, camera JSONs,
    overlap labels from the retriever, captions, window CSV). Returns a summary dict."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    c = world.config
    captions, windows, frames = {}, [], 0
    for i in tqdm(range(len(world)), desc="export", disable=not progress, leave=False):
        seq = world.sequence(i)
        labels = overlap_labels(seq.poses, seq.intrinsics, seq.height, seq.width, threshold=LABEL_THRESHOLD)
        cam.write_sequence(root, seq.name, seq.frames(list(range(len(seq)))), seq.poses, c.fov_deg, labels)
        captions[seq.name] = seq.caption
        windows += [(seq.name, s, e) for s, e in cam.windows_for(len(seq), window, stride)]
        frames += len(seq)
    cam.write_captions(root, captions)
    cam.write_windows(root, windows)
    return {"root": str(root), "sequences": len(world), "frames": frames, "windows": len(windows),
            "first": sequence_name(0)}
