"""A picture of a leave-and-return probe: its frames in a row, the revisit frames framed."""

from __future__ import annotations

import os

import torch
from PIL import Image, ImageDraw

from echodsl.data.world import Probe

# Border colours: the anchor view, frames with the anchor out of view, revisit frames.
START, AWAY, REVISIT, OTHER = (40, 110, 255), (220, 50, 50), (30, 200, 60), (150, 150, 150)


def probe_strip(probe: Probe, tile: int = 96, border: int = 4) -> Image.Image:
    """One image: every frame upscaled to ``tile`` px, framed by its role, numbered."""
    frames = probe.frames.permute(0, 2, 3, 1).numpy()  # (T, H, W, 3)
    n = len(frames)
    cell = tile + 2 * border
    strip = Image.new("RGB", (n * cell, cell + 14), (255, 255, 255))
    draw = ImageDraw.Draw(strip)
    revisit, away = set(probe.revisit), set(probe.away)
    for i, frame in enumerate(frames):
        colour = REVISIT if i in revisit else AWAY if i in away else START if i == 0 else OTHER
        draw.rectangle([i * cell, 0, (i + 1) * cell - 1, cell - 1], fill=colour)
        img = Image.fromarray(frame).resize((tile, tile), Image.NEAREST)
        strip.paste(img, (i * cell + border, border))
        draw.text((i * cell + border, cell + 1), f"{i}{'R' if i in revisit else ''}", fill=(0, 0, 0))
    return strip


def save_preview(probe: Probe, out: str | os.PathLike, tile: int = 96) -> dict:
    """Write :func:`probe_strip` to ``out``; returns what the picture shows."""
    probe_strip(probe, tile).save(out)
    visible = (probe.ids == probe.anchor_id).flatten(1).sum(1)
    return {"out": str(out), "probe": probe.name, "anchor": probe.anchor, "frames": len(probe.frames),
            "revisit": list(probe.revisit), "away": list(probe.away),
            "anchor_pixels": torch.as_tensor(visible).tolist()}
