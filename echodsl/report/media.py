"""The report's images, each embedded in the page as a ``data:`` URI so the page is one
file that opens anywhere without a network: the study's figures (drawn by
:mod:`echodsl.store.plots`), per-probe filmstrips and per-design animated rollouts.

Frames are kept at their own size (at most :data:`MAX_SIDE` pixels, shrunk if larger)
and scaled up by the browser with ``image-rendering: pixelated``: a 32 x 32 frame stays
a few hundred bytes.
"""

from __future__ import annotations

import base64
import io
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from echodsl.errors import UsageError
from echodsl.report.collect import Design, ProbeView
from echodsl.store import plots
from echodsl.store.columns import column
from echodsl.store.compare import Group

MAX_SIDE = 160  # longest frame side in the report, in pixels
MAX_AWAY = 4  # away frames shown per filmstrip (evenly spaced)
FRAME_MS = 250  # animation speed


@dataclass(frozen=True)
class Tile:
    """One frame of a filmstrip."""

    role: str  # "anchor" | "away" | "truth" | "generated"
    caption: str
    uri: str


@dataclass(frozen=True)
class Animation:
    design: str
    seed: int
    uri: str


@dataclass(frozen=True)
class Figure:
    kind: str
    title: str
    uri: str | None  # None: not drawn, see note
    note: str | None = None


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def png_uri(img: Image.Image) -> str:
    buf = io.BytesIO()
    _fit(img).save(buf, format="PNG", optimize=True)
    return data_uri(buf.getvalue(), "image/png")


def filmstrip(view: ProbeView) -> list[Tile]:
    """Anchor frame, the frames with the camera away, the true revisit, then each
    design's generated revisit (the first revisit frame: the moment of return)."""
    truth = view.truth
    back = truth.revisit[0]
    away = _spread(truth.away, MAX_AWAY)
    tiles = [Tile("anchor", f"anchor · t={truth.anchor_frame}", png_uri(truth.truth[truth.anchor_frame]))]
    tiles += [Tile("away", f"away · t={t}", png_uri(truth.truth[t])) for t in away]
    tiles.append(Tile("truth", f"ground truth · t={back}", png_uri(truth.truth[back])))
    for design, (seed, frames) in view.generated.items():
        if back < len(frames.generated):
            tiles.append(Tile("generated", f"{design} · seed {seed}", png_uri(frames.generated[back])))
    return tiles


def animations(view: ProbeView) -> list[Animation]:
    """Per design, the whole rollout as an animated GIF: ground truth left, generated right."""
    out = []
    for design, (seed, frames) in view.generated.items():
        pairs = [_side_by_side(t, g) for t, g in zip(frames.truth, frames.generated)]
        buf = io.BytesIO()
        pairs[0].save(buf, format="GIF", save_all=True, append_images=pairs[1:], duration=FRAME_MS, loop=0)
        out.append(Animation(design, seed, data_uri(buf.getvalue(), "image/gif")))
    return out


def figures(designs: Sequence[Design], *, by: str = "storage.k") -> list[Figure]:
    """The study's three figures; a figure without data carries the reason instead."""
    groups: list[Group] = [d.group for d in designs]
    makers: list[tuple[str, str, Callable[[Path], Path]]] = [
        ("scaling", f"context scaling (metric vs {by})",
         lambda p: plots.scaling(groups, p, by=by, metrics=[column(m) for m in plots.DEFAULT_SCALING])),
        ("tradeoff", "quality vs cost (replay PSNR vs device-hours per step)", lambda p: plots.tradeoff(groups, p)),
        ("drift", "replay drift per chunk", lambda p: plots.drift(groups, p)),
    ]
    out = []
    with tempfile.TemporaryDirectory(prefix="echodsl-report-") as tmp:
        for kind, title, make in makers:
            try:
                path = make(Path(tmp) / f"{kind}.png")
            except UsageError as exc:
                out.append(Figure(kind, title, None, f"not drawn: {exc}"))
                continue
            out.append(Figure(kind, title, data_uri(path.read_bytes(), "image/png")))
    return out


def _side_by_side(left: Image.Image, right: Image.Image) -> Image.Image:
    left, right = _fit(left), _fit(right)
    gap = max(1, left.width // 16)
    canvas = Image.new("RGB", (left.width + gap + right.width, max(left.height, right.height)), (255, 255, 255))
    canvas.paste(left, (0, 0))
    canvas.paste(right, (left.width + gap, 0))
    return canvas


def _fit(img: Image.Image) -> Image.Image:
    img = img.convert("RGB")
    side = max(img.size)
    if side <= MAX_SIDE:
        return img
    scale = MAX_SIDE / side
    return img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.LANCZOS)


def _spread(items: Sequence[int], count: int) -> list[int]:
    """At most ``count`` items, evenly spaced, first and last included."""
    items = list(items)
    if len(items) <= count:
        return items
    return [items[round(i * (len(items) - 1) / (count - 1))] for i in range(count)]
