"""Write a trained run's rollouts on MIND's test clips in MIND's submission layout::

    OUT/<model>/{1st,3rd}_data/{mem_test,action_space_test}/<name>/video.mp4
    OUT/<model>/{1st,3rd}_data/mirror_test/<name>/path-1.mp4 ... path-10.mp4

MIND's protocol, as its evaluator reads a submission: frame i of a test clip's video is
scored against ground-truth frame ``mark_time + i`` for ``total_time - mark_time`` frames,
both resized to 1280x720 (a 16:9 video is resized, anything else scaled to cover and
centre-cropped). So each test video here is:

* conditioned on the ground truth before ``mark_time``: those frames are given to the
  rollout as observed history (the memory is written from them exactly as from generated
  frames), the last of them (``mark_time - 1``) is the first chunk's anchor;
* generated at the preset's frame stride ``s`` (the spacing its segments were trained on):
  poses ``mark_time - 1 + s, + 2s, ...`` and the clip's last pose; the ground-truth frames
  in between are filled by linear interpolation of the two generated (or, right after
  ``mark_time``, the last given and the first generated) frames around them, so the video
  keeps one frame per ground-truth frame at 24 fps (with ``s = 1`` nothing is filled);
* written at the ground-truth video's resolution (the model's frames are resized to it,
  and a differing aspect ratio is reported, since it stretches the image).

Mirror paths (memory-test clips only): path k follows ``mirror_frames`` poses of the clip at
the preset's stride, starting at the k-th of ``mirror_paths`` evenly spaced poses, then the
same poses in reverse, from that stretch's first ground-truth frame; the video holds the
whole rollout, 2 x ``mirror_frames`` frames (an even count), at the ground truth's
resolution. MIND's evaluator compares a mirror video's halves with each other; its
repository does not say how the paths are drawn, so these stretches are echodsl's choice.

Letters: T frames, H/W pixels.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from echodsl.data import mind
from echodsl.data.sequence import Sequence, to_uint8
from echodsl.data.video import FPS, video_size, write_video
from echodsl.errors import UsageError


def protocol_positions(mark_time: int, total_time: int, stride: int) -> tuple[list[int], list[int]]:
    """Ground-truth frame numbers (given, generated) of a test clip's rollout at ``stride``:
    given frames end at ``mark_time - 1`` (the anchor), generated ones step by ``stride``
    from there and end at ``total_time - 1``."""
    assert 0 < mark_time < total_time and stride >= 1, (mark_time, total_time, stride)
    given = list(range((mark_time - 1) % stride, mark_time, stride))
    generated = list(range(mark_time - 1 + stride, total_time - 1, stride)) + [total_time - 1]
    return given, generated


def fill_frames(positions: list[int], frames: torch.Tensor, wanted: range) -> torch.Tensor:
    """Frames (T', 3, H, W) at ``wanted`` frame numbers from ``frames`` (T, 3, H, W) known at
    the increasing ``positions``: exact where known, linearly interpolated in between."""
    out = []
    for t in wanted:
        j = max(i for i, p in enumerate(positions) if p <= t)
        if positions[j] == t:
            out.append(frames[j])
            continue
        w = (t - positions[j]) / (positions[j + 1] - positions[j])
        out.append((1 - w) * frames[j] + w * frames[j + 1])
    return torch.stack(out)  # (T', 3, H, W)


def subsequence(seq: Sequence, indices: list[int], name: str | None = None) -> Sequence:
    """The frames ``indices`` of ``seq`` as a sequence of their own."""
    return replace(seq, name=name or seq.name, poses=seq.poses[indices],
                   load=lambda i: seq.frames([indices[j] for j in i]))


def mirror_starts(frames: int, length: int, paths: int) -> list[int]:
    """Start frames of ``paths`` stretches of ``length`` evenly spread over ``frames``."""
    last = max(0, frames - length)
    return [round(i * last / max(paths - 1, 1)) for i in range(paths)]


def mirror_sequence(seq: Sequence, start: int, length: int) -> Sequence:
    """Poses ``start .. start+length-1`` then the same in reverse; frame 0 is ground truth."""
    idx = list(range(start, min(start + length, len(seq))))
    return subsequence(seq, idx + idx[::-1], f"{seq.name}#mirror{start}")


def resize_to(frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Float frames (T, 3, h, w) resized to ``size`` = (H, W) (bilinear, antialiased)."""
    if tuple(frames.shape[-2:]) == tuple(size):
        return frames
    return F.interpolate(frames.float(), size=size, mode="bilinear", align_corners=False, antialias=True)


def aspect_note(model_hw: tuple[int, int], gt_hw: tuple[int, int]) -> str | None:
    """A sentence when resizing the model's frames to the ground truth's size stretches them."""
    (mh, mw), (gh, gw) = model_hw, gt_hw
    if abs(mw / mh - gw / gh) <= 0.01 * gw / gh:
        return None
    return (f"the model's {mh}x{mw} frames (aspect {mw / mh:.3f}) are stretched to the ground truth's "
            f"{gh}x{gw} (aspect {gw / gh:.3f})")


def check_not_trained_on(trained, source: mind.MindSource) -> None:
    """UsageError when ``trained`` was trained on any of ``source``'s clips."""
    run = trained.run
    if run.data.variant != "mind":
        return
    data = run.settings.data
    trained_on = {d.resolve() for _, _, d in mind.clip_dirs(run.resolve(data.root), data.split)}
    both = sorted(d for _, _, d in source.dirs if d.resolve() in trained_on)
    if both:
        raise UsageError(f"the run was trained on {len(both)} of the clips it would be exported on "
                         f"(e.g. {both[0]}): its MIND scores would mean nothing",
                         hint="train on data mind(root = ..., split = train)")


def export_mind(trained, gt_root: str | os.PathLike, out: str | os.PathLike, *, model: str | None = None,
                mirror_paths: int = 10, mirror_frames: int | None = None, limit: int | None = None,
                steps: int = 16, stride: int | None = None, progress: bool = False) -> dict:
    """Roll out ``trained`` (a :class:`~echodsl.runtime.trained.TrainedRun`) on every test
    clip of the MIND root ``gt_root`` by MIND's protocol (module docstring) and write the
    submission tree under ``out/<model>``. ``limit`` caps the clips per (perspective, test
    set); ``stride`` defaults to the preset's. Returns a summary."""
    from echodsl.eval.generate import Generator
    from echodsl.eval.report import EvalConfig

    bb = trained.plan.backbone
    stride = stride or bb.frame_stride
    source = mind.MindSource(gt_root, "test", *bb.frame_hw)
    check_not_trained_on(trained, source)
    gen = Generator(trained, EvalConfig(steps=steps))
    model = model or trained.directory.name
    base = Path(out) / model
    mirror_frames = mirror_frames or 2 * gen.per_chunk
    counts: dict[str, int] = {}
    videos, generated, filled, sizes, notes = 0, 0, 0, set(), []
    chosen = [i for i, (p, t, _) in enumerate(source.dirs)
              if limit is None or sum(1 for q, u, _ in source.dirs[:i] if (q, u) == (p, t)) < limit]
    for i in tqdm(chosen, desc="export mind", disable=not progress, leave=False):
        clip, seq = source.clip(i), source.sequence(i)
        gt_hw = video_size(clip.video)
        note = aspect_note(bb.frame_hw, gt_hw)
        if note and note not in notes:
            notes.append(note)
        sizes.add(f"{gt_hw[0]}x{gt_hw[1]}")
        given, ahead = protocol_positions(clip.mark_time, clip.total_time, stride)
        path = subsequence(seq, given + ahead)
        known = _roll(gen, path, clip.key, observed=len(given))  # (1 + len(ahead), 3, h, w): anchor, generated
        video = fill_frames([given[-1], *ahead], known, range(clip.mark_time, clip.total_time))
        write_video(base / clip.perspective / clip.test / clip.name / "video.mp4",
                    to_uint8(resize_to(video, gt_hw)), FPS)
        videos, generated, filled = videos + 1, generated + len(ahead), filled + clip.predicted - len(ahead)
        counts[f"{clip.perspective}/{clip.test}"] = counts.get(f"{clip.perspective}/{clip.test}", 0) + 1
        if clip.test != "mem_test" or mirror_paths <= 0:
            continue
        strided = subsequence(seq, list(range(0, len(seq), stride)))
        for k, start in enumerate(mirror_starts(len(strided), mirror_frames, mirror_paths), 1):
            frames = _roll(gen, mirror_sequence(strided, start, mirror_frames), f"{clip.key}/path-{k}")
            write_video(base / clip.perspective / mind.MIRROR / clip.name / f"path-{k}.mp4",
                        to_uint8(resize_to(frames, gt_hw)), FPS)
            videos += 1
        counts[f"{clip.perspective}/{mind.MIRROR}"] = counts.get(f"{clip.perspective}/{mind.MIRROR}", 0) + 1
    return {"root": str(base), "model": model, "videos": videos, "clips": counts, "mirror_frames": mirror_frames,
            "stride": stride, "generated_frames": generated, "interpolated_frames": filled,
            "model_size": f"{bb.frame_hw[0]}x{bb.frame_hw[1]}", "written_sizes": sorted(sizes), "notes": notes}


def _roll(gen, seq: Sequence, case_id: str, observed: int = 1) -> torch.Tensor:
    """Frames (T', 3, h, w) in [-1, 1] of a rollout given ``observed`` frames, from the last
    given one (the anchor) on: the earlier given frames are not decoded."""
    result = gen.roll(seq, case_id, observed=observed)
    return gen.decode(result.latents[observed - 1:])
