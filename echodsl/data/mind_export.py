"""Write a trained run's rollouts on MIND's test clips in MIND's submission layout::

    OUT/<model>/{1st,3rd}_data/{mem_test,action_space_test}/<name>/video.mp4
    OUT/<model>/{1st,3rd}_data/mirror_test/<name>/path-1.mp4 ... path-10.mp4

A test video holds only the predicted frames: the rollout follows the clip's whole camera
path from its first ground-truth frame (so a memory design builds its memory from the
context frames it generated itself; the rollout cannot be fed ground-truth context), and
frames ``mark_time .. total_time - 1`` are written (MIND's evaluator reads
``total_time - mark_time`` frames from the start of the file).

Mirror paths (memory test clips only): path k follows a stretch of ``mirror_frames`` poses
of the clip, starting at the k-th of ``mirror_paths`` evenly spaced frames, then the same
poses in reverse, from that stretch's first ground-truth frame; the video holds the whole
rollout, 2 x ``mirror_frames`` frames (an even count). MIND's repository describes the
mirror layout but not how its paths are drawn; this is echodsl's choice.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import torch
from tqdm import tqdm

from echodsl.data import mind
from echodsl.data.sequence import Sequence, to_uint8
from echodsl.data.video import FPS, write_video


def mirror_starts(frames: int, length: int, paths: int) -> list[int]:
    """Start frames of ``paths`` stretches of ``length`` evenly spread over ``frames``."""
    last = max(0, frames - length)
    return [round(i * last / max(paths - 1, 1)) for i in range(paths)]


def mirror_sequence(seq: Sequence, start: int, length: int) -> Sequence:
    """Poses ``start .. start+length-1`` then the same in reverse; frame 0 is ground truth."""
    idx = list(range(start, min(start + length, len(seq))))
    poses = torch.cat([seq.poses[idx], seq.poses[idx[::-1]]])  # (2L, 4, 4)
    return replace(seq, name=f"{seq.name}#mirror{start}", poses=poses,
                   load=lambda i: seq.frames([idx[j] if j < len(idx) else idx[2 * len(idx) - 1 - j] for j in i]))


def export_mind(trained, gt_root: str | os.PathLike, out: str | os.PathLike, *, model: str | None = None,
                mirror_paths: int = 10, mirror_frames: int | None = None, limit: int | None = None,
                steps: int = 16, progress: bool = False) -> dict:
    """Roll out ``trained`` (a :class:`~echodsl.runtime.trained.TrainedRun`) on every test
    clip of the MIND root ``gt_root`` and write the submission tree under ``out/<model>``.
    ``limit`` caps the clips per (perspective, test set). Returns a summary."""
    from echodsl.eval.generate import Generator
    from echodsl.eval.report import EvalConfig

    gen = Generator(trained, EvalConfig(steps=steps))
    source = mind.MindSource(gt_root, "test", *trained.plan.backbone.frame_hw)
    model = model or trained.directory.name
    base = Path(out) / model
    mirror_frames = mirror_frames or 2 * gen.per_chunk
    counts: dict[str, int] = {}
    videos = 0
    chosen = [i for i, (p, t, _) in enumerate(source.dirs)
              if limit is None or sum(1 for q, u, _ in source.dirs[:i] if (q, u) == (p, t)) < limit]
    for i in tqdm(chosen, desc="export mind", disable=not progress, leave=False):
        clip, seq = source.clip(i), source.sequence(i)
        frames = _roll(gen, seq, clip.key)  # (T, 3, H, W) uint8
        write_video(base / clip.perspective / clip.test / clip.name / "video.mp4", frames[clip.mark_time:], FPS)
        videos += 1
        counts[f"{clip.perspective}/{clip.test}"] = counts.get(f"{clip.perspective}/{clip.test}", 0) + 1
        if clip.test != "mem_test" or mirror_paths <= 0:
            continue
        for k, start in enumerate(mirror_starts(len(seq), mirror_frames, mirror_paths), 1):
            path = mirror_sequence(seq, start, mirror_frames)
            frames = _roll(gen, path, f"{clip.key}/path-{k}")
            write_video(base / clip.perspective / mind.MIRROR / clip.name / f"path-{k}.mp4", frames, FPS)
            videos += 1
        counts[f"{clip.perspective}/{mind.MIRROR}"] = counts.get(f"{clip.perspective}/{mind.MIRROR}", 0) + 1
    return {"root": str(base), "model": model, "videos": videos, "clips": counts,
            "mirror_frames": mirror_frames}


def _roll(gen, seq: Sequence, case_id: str) -> torch.Tensor:
    result = gen.roll(seq, case_id)
    return to_uint8(gen.decode(result.latents))  # (T, 3, H, W)
