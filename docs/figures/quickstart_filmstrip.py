"""Draw docs/figures/quickstart_filmstrip.png from a finished quickstart's saved frames.

    python docs/figures/quickstart_filmstrip.py [RUNS_DIR] [--case in0000] [--seed 0]

RUNS_DIR is the study's runs folder (default ``specs/runs/quickstart``). The first row is
the ground truth, then one row per design's rollout (the anchor frame is given, everything
after it generated): the anchor, the first and last frames with the camera away, and the
first, middle and last frames of the return, all as evaluation saved them
(``<run>/eval/frames``), enlarged without smoothing so the 32x32 pixels stay visible.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw

from echodsl.eval.frames import frame_dir, read_probe_frames

DESIGNS = ("qs_i2v", "qs_context", "qs_compression", "qs_spatial", "qs_state")
SCALE = 3  # 32 px -> 96 px per tile
LABEL_W, GAP = 120, 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="?", default="specs/runs/quickstart", type=Path)
    parser.add_argument("--case", default="in0000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_suffix(".png"))
    args = parser.parse_args()

    probes = {}
    for design in DESIGNS:
        (run,) = sorted(args.runs.glob(f"{design}-s{args.seed}-*"))
        probes[design] = read_probe_frames(frame_dir(run / "eval") / f"{args.case}.json")
    first = probes[DESIGNS[0]]
    # The anchor, two frames with the camera away, then the revisit from the first frame back
    # to the last (the camera at the anchor's pose again).
    revisit = first.revisit
    times = [first.anchor_frame, first.away[0], first.away[-1], revisit[0], revisit[len(revisit) // 2], revisit[-1]]
    rows = [("ground truth", first.truth)] + [(d, probes[d].generated) for d in DESIGNS]
    tile = first.truth[0].width * SCALE
    width = LABEL_W + len(times) * (tile + GAP)
    height = 20 + len(rows) * (tile + GAP)
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    for c, t in enumerate(times):
        role = "anchor" if t == first.anchor_frame else "away" if t in first.away else "revisit"
        draw.text((LABEL_W + c * (tile + GAP), 4), f"{role} t={t}", fill="black")
    for r, (name, frames) in enumerate(rows):
        y = 20 + r * (tile + GAP)
        draw.text((4, y + tile // 2 - 6), name, fill="black")
        for c, t in enumerate(times):
            sheet.paste(frames[t].resize((tile, tile), Image.NEAREST), (LABEL_W + c * (tile + GAP), y))
    sheet.save(args.out, optimize=True)
    print(f"{args.out}: case {args.case} ({first.anchor}), seed {args.seed}, frames {times}")


if __name__ == "__main__":
    main()
