"""Write the embedded world in the Context-as-Memory layout, exactly as the dataset is
distributed (plus Echo-Memory's ``metadata_full.csv``), so one loader, and any tool
written for the real dataset, serves both."""

from __future__ import annotations

import os
from pathlib import Path

from tqdm import tqdm

from echodsl.data import cam, index
from echodsl.data.retriever import overlap_labels
from echodsl.data.world import World, sequence_name

LABEL_THRESHOLD = 0.25  # fraction of a frame's frustum another frame must see to count


def export_world(world: World, root: str | os.PathLike, *, window: int = index.WINDOW,
                 progress: bool = False) -> dict:
    """Render every training sequence of ``world`` under ``root``: frames, camera JSONs,
    overlap labels (from the retriever's overlap), one caption per ``window``-frame segment
    (the whole sequence if it is shorter) and ``metadata_full.csv``. Returns a summary."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    c = world.config
    segments, frames = [], 0
    for i in tqdm(range(len(world)), desc="export", disable=not progress, leave=False):
        seq = world.sequence(i)
        labels = overlap_labels(seq.poses, seq.intrinsics, seq.height, seq.width, threshold=LABEL_THRESHOLD)
        cam.write_sequence(root, seq.name, seq.frames(list(range(len(seq)))), seq.poses, c.fov_deg, labels)
        starts = index.window_starts(len(seq), window)
        spans = [(s, s + window - 1) for s in starts] or [(0, len(seq) - 1)]
        segments += [(seq.name, s, e, seq.caption) for s, e in spans]
        frames += len(seq)
    cam.write_captions(root, segments)
    summary = index.write_index(root, window=window)
    return {"root": str(root), "sequences": len(world), "frames": frames, "windows": summary["windows"],
            "first": sequence_name(0)}
