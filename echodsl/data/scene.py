"""Procedural scenes of the embedded world: a box room with a coloured-block panorama on
its walls, a tiled floor, and a few "identity anchor" objects (shape + colour + pattern).

A scene is a plain description (numbers and small tensors); ``render.py`` turns it into
pixels. Styles are split into in-domain ones (used for training) and held-out open-domain
ones (other palettes, wall textures, object shapes and patterns) used only by the
open-domain return probe.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass

import torch

# name -> style. "split" decides training ("in") vs held-out evaluation ("open").
STYLES: dict[str, dict] = {
    "warm": {"split": "in", "hues": (0.0, 0.16), "sat": (0.5, 0.9), "val": (0.5, 0.95),
             "wall": "blocks", "shapes": ("box", "sphere", "cylinder"),
             "patterns": ("solid", "stripes", "checker")},
    "cool": {"split": "in", "hues": (0.45, 0.75), "sat": (0.4, 0.9), "val": (0.45, 0.95),
             "wall": "blocks", "shapes": ("box", "sphere", "cylinder"),
             "patterns": ("solid", "stripes", "checker")},
    "earth": {"split": "in", "hues": (0.05, 0.35), "sat": (0.3, 0.7), "val": (0.3, 0.8),
              "wall": "blocks", "shapes": ("box", "sphere", "cylinder"),
              "patterns": ("solid", "stripes", "checker")},
    "rainbow": {"split": "in", "hues": (0.0, 1.0), "sat": (0.6, 1.0), "val": (0.6, 1.0),
                "wall": "blocks", "shapes": ("box", "sphere", "cylinder"),
                "patterns": ("solid", "stripes", "checker")},
    # Held out: pastel / neon palettes, grouted tiles, cones and ellipsoids, rings and dots.
    "pastel": {"split": "open", "hues": (0.0, 1.0), "sat": (0.15, 0.35), "val": (0.85, 1.0),
               "wall": "tiles", "shapes": ("cone", "ellipsoid"), "patterns": ("rings", "dots")},
    "neon": {"split": "open", "hues": (0.75, 1.1), "sat": (0.9, 1.0), "val": (0.8, 1.0),
             "wall": "tiles", "shapes": ("cone", "ellipsoid"), "patterns": ("rings", "dots")},
}

# Texture scales (metres): wall block width, wall block rows, floor tile. "coarse" is what a
# 32x32 frame can resolve: there a 1-pixel shift of a fine room already scores 18.8 dB PSNR
# and a 4x4-patch blur 17.7 dB, so copying a roughly aligned memory frame barely beats a blur.
DETAIL: dict[str, tuple[float, int, float]] = {
    "fine": (0.5, 4, 0.75),
    "coarse": (1.5, 2, 1.5),
}


@dataclass(frozen=True)
class SceneObject:
    """One anchor object. ``size`` is half extents (box), radii (ellipsoid), or
    (radius, radius, half height) for sphere / cylinder / cone."""

    object_id: int  # >= 1; 0 is the room in id masks
    shape: str
    centre: tuple[float, float, float]
    size: tuple[float, float, float]
    colour: tuple[float, float, float]
    colour2: tuple[float, float, float]
    pattern: str

    def describe(self) -> str:
        return f"a {_colour_name(self.colour)} {self.pattern} {self.shape}"


@dataclass(frozen=True)
class Scene:
    """A room [-hx, hx] x [-hy, hy] x [0, height] (metres) with its textures and objects."""

    seed: int
    style: str
    half_x: float
    half_y: float
    height: float
    panorama: torch.Tensor  # (rows, cols, 3) float in [0, 1]: wall block colours around the room
    floor: tuple[tuple[float, float, float], tuple[float, float, float]]
    ceiling: tuple[float, float, float]
    tile: float  # floor tile size, metres
    objects: tuple[SceneObject, ...]

    @property
    def wall_style(self) -> str:
        return STYLES[self.style]["wall"]

    def caption(self) -> str:
        """A short deterministic caption naming the style and the anchor objects."""
        things = ", ".join(o.describe() for o in self.objects)
        return f"a {self.style} room with {self.wall_style} walls containing {things}"


def _colour_name(rgb: tuple[float, float, float]) -> str:
    h, s, v = colorsys.rgb_to_hsv(*rgb)
    if s < 0.25:
        return "white" if v > 0.75 else "grey" if v > 0.35 else "black"
    names = ("red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink")
    bounds = (0.04, 0.11, 0.19, 0.45, 0.54, 0.71, 0.83, 0.95)
    for name, bound in zip(names, bounds):
        if h < bound:
            return name
    return "red"


def _colour(gen: torch.Generator, style: dict) -> tuple[float, float, float]:
    u = torch.rand(3, generator=gen).tolist()
    lo, hi = style["hues"]
    h = (lo + (hi - lo) * u[0]) % 1.0
    s = style["sat"][0] + (style["sat"][1] - style["sat"][0]) * u[1]
    v = style["val"][0] + (style["val"][1] - style["val"][0]) * u[2]
    return colorsys.hsv_to_rgb(h, s, v)


def make_scene(seed: int, style: str, n_objects: int = 4, detail: str = "fine") -> Scene:
    """Build the scene for ``seed`` in ``style``; the same arguments give the same scene."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; known: {sorted(STYLES)}")
    if detail not in DETAIL:
        raise ValueError(f"unknown detail {detail!r}; known: {sorted(DETAIL)}")
    block, rows, tile = DETAIL[detail]
    st = STYLES[style]
    gen = torch.Generator().manual_seed(seed)
    half_x, half_y = (3.0 + 1.5 * torch.rand(2, generator=gen)).tolist()
    height = 3.0
    # Panorama: one block column per ``block`` metres of perimeter; adjacent blocks differ a lot.
    cols = int(round(4 * (half_x + half_y) / block))
    panorama = torch.tensor([[_colour(gen, st) for _ in range(cols)] for _ in range(rows)])
    floor = (_colour(gen, st), tuple(0.5 * c for c in _colour(gen, st)))
    ceiling = tuple(0.85 + 0.1 * c for c in _colour(gen, st))
    objects = []
    used: set[tuple[str, str]] = set()
    base_angle = 2 * math.pi * torch.rand(1, generator=gen).item()
    for i in range(n_objects):
        # Spread objects evenly around the room so each is its own "place" to return to.
        angle = base_angle + 2 * math.pi * (i + 0.3 * torch.rand(1, generator=gen).item()) / n_objects
        shape = st["shapes"][int(torch.randint(len(st["shapes"]), (1,), generator=gen))]
        pattern = st["patterns"][int(torch.randint(len(st["patterns"]), (1,), generator=gen))]
        while (shape, pattern) in used and len(used) < len(st["shapes"]) * len(st["patterns"]):
            pattern = st["patterns"][(st["patterns"].index(pattern) + 1) % len(st["patterns"])]
            if (shape, pattern) in used:
                shape = st["shapes"][(st["shapes"].index(shape) + 1) % len(st["shapes"])]
        used.add((shape, pattern))
        r = 0.45 + 0.3 * torch.rand(1, generator=gen).item()
        hh = 0.6 + 0.4 * torch.rand(1, generator=gen).item()
        size = (r, r, hh) if shape != "box" else (r, r * 0.8, hh)
        if shape == "sphere":
            size = (r, r, r)
        if shape == "ellipsoid":
            size = (r, r * 0.7, hh)
        # Place between the camera region (radius 1 m) and the wall, resting on the floor.
        reach = min(half_x, half_y) - max(size[0], size[1]) - 0.3
        dist = 1.6 + (reach - 1.6) * torch.rand(1, generator=gen).item()
        centre = (dist * math.cos(angle), dist * math.sin(angle), size[2])
        colour = _colour(gen, st)
        colour2 = tuple(1.0 - c for c in colour)  # a contrasting secondary colour
        objects.append(SceneObject(i + 1, shape, centre, size, colour, colour2, pattern))
    return Scene(seed, style, half_x, half_y, height, panorama, floor, ceiling, tile, tuple(objects))
