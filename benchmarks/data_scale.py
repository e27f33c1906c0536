"""How a Context-as-Memory tree of many long scenes opens, checks and yields training windows.

    python benchmarks/data_scale.py [--scenes 20] [--frames 2000] [--size 8] [--root DIR] [--items 64]

Generates (once; reused if ``--root`` already holds it) a tree in the dataset's exact
layout: ``--scenes`` scenes of ``--frames`` tiny PNGs, camera JSONs, an overlap label every
10th frame and per-segment captions (no metadata_full.csv: it is derived). Then, each in
a fresh child process so peak memory is per phase, it measures: opening the root
(``CamSource``), ``data check`` (every PNG verified), ``data index`` (Echo's windows), and
building the segment dataset and drawing ``--items`` training items. Prints wall time,
peak resident memory (ru_maxrss of that process) and throughput.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def generate(root: Path, scenes: int, frames: int, size: int) -> float:
    from PIL import Image

    start = time.perf_counter()
    gen = np.random.default_rng(0)
    png = root / "_tile.png"
    root.mkdir(parents=True, exist_ok=True)
    Image.fromarray(gen.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(png)
    data = png.read_bytes()
    captions = []
    for s in range(scenes):
        name = f"Scene{s:03d}"
        folder = root / "frames" / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(frames):
            (folder / f"{i:04d}.png").write_bytes(data)
        yaw = np.cumsum(gen.normal(0, 4, frames))
        pos = np.cumsum(gen.normal(0, 5, (frames, 3)) * [1, 1, 0], 0)
        actor = {str(i): {"position": pos[i].round(3).tolist(), "rotation": [0.0, 0.0, round(float(yaw[i]), 3)]}
                 for i in range(frames)}
        (root / "jsons").mkdir(exist_ok=True)
        (root / "jsons" / f"{name}.json").write_text(json.dumps({"CineCameraActor": actor}))
        labels = root / "overlap_labels" / name
        labels.mkdir(parents=True, exist_ok=True)
        for f in range(0, frames, 10):
            others = [o for o in range(max(0, f - 5), min(frames, f + 6)) if o != f]
            (labels / f"{f}.json").write_text(json.dumps({"frame_index": f, "overlapping_frames": others}))
        captions += [f"{name}/{a}_{a + 80}.mp4\tscene {s} segment {a}" for a in range(0, frames - 80, 40)]
    (root / "captions.txt").write_text("\n".join(captions) + "\n")
    png.unlink()
    return time.perf_counter() - start


PHASES = {
    "open": "from echodsl.data.cam import CamSource\ns = CamSource(ROOT)\nout = {'sequences': len(s)}",
    "check": ("from echodsl.data.check import check_dataset, RetrievalCheck\n"
              "r = check_dataset(ROOT, retrieval=RetrievalCheck(frames=4, samples=128))\n"
              "out = {'files': r.files, 'files_per_second': round(r.files_per_second), 'errors': len(r.errors),\n"
              "       'warnings': len(r.problems) - len(r.errors)}"),
    "index": ("from echodsl.data.index import write_index\nimport os\n"
              "out = write_index(ROOT, os.path.join(ROOT, '..', 'metadata_bench.csv'))"),
    "train": ("from echodsl.data.cam import CamConfig, CamSource\n"
              "from echodsl.data.segments import SamplerConfig, SegmentDataset\n"
              "from torch.utils.data import DataLoader\n"
              "ds = SegmentDataset(CamSource(ROOT, CamConfig(height=32, width=32)),\n"
              "                    SamplerConfig(memory=4, fov_samples=64, window_stride=40, min_history=5))\n"
              "n = 0\n"
              "for batch in DataLoader(ds, batch_size=8, shuffle=True, generator=__import__('torch').Generator().manual_seed(0)):\n"
              "    n += batch['frames'].shape[0]\n"
              "    if n >= ITEMS: break\n"
              "out = {'windows': len(ds), 'items': n}"),
}


def phase(name: str, root: Path, items: int) -> dict:
    imports = "".join(line + "\n" for line in PHASES[name].splitlines() if line.startswith("from "))
    body = "".join(line + "\n" for line in PHASES[name].splitlines() if not line.startswith("from "))
    code = ("import json, resource, time, torch\ntorch.set_num_threads(1)\n" + imports
            + f"ROOT, ITEMS = {str(root)!r}, {items}\nt = time.perf_counter()  # imports excluded\n" + body
            + "\nout['seconds'] = round(time.perf_counter() - t, 2)\n"
            "out['peak_rss_mb'] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
            "print(json.dumps(out))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=20)
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--size", type=int, default=8, help="PNG side in pixels")
    parser.add_argument("--items", type=int, default=64, help="training items to draw")
    parser.add_argument("--root", type=Path, default=None, help="keep the tree here (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = (args.root or Path(tmp) / "tree").resolve()
        if not (root / "captions.txt").exists():
            took = generate(root, args.scenes, args.frames, args.size)
            print(f"generated {args.scenes} scenes x {args.frames} frames ({args.size}x{args.size} PNGs) "
                  f"in {took:.1f} s")
        for name in PHASES:
            print(f"{name:6s} {json.dumps(phase(name, root, args.items))}", flush=True)


if __name__ == "__main__":
    main()
