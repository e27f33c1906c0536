"""Frames per second of the embedded world's renderer on this machine.

    python benchmarks/render_fps.py [--frames 128] [--sizes 32 64 128] [--batch 32] [--threads N]

Renders a training walk of scene 0 in batches of ``--batch`` poses (one torch call each,
as the segment dataset does) after one warm-up batch, and prints frames/s per resolution.
"""

from __future__ import annotations

import argparse
import time

import torch

from echodsl.data.world import World, WorldConfig


def fps(size: int, frames: int, batch: int) -> float:
    world = World(WorldConfig(scenes=1, height=size, width=size, frames_per_scene=frames))
    seq = world.sequence(0)
    seq.frames(list(range(min(batch, frames))))  # warm-up
    start = time.perf_counter()
    for i in range(0, frames, batch):
        seq.frames(list(range(i, min(i + batch, frames))))
    return frames / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=128)
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (1 is fastest on a busy machine: no spin-waiting)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for size in args.sizes:
        print(f"{size}x{size}: {fps(size, args.frames, args.batch):8.1f} frames/s")


if __name__ == "__main__":
    main()
