"""Fixed evaluation cases from the embedded world, shared by every profile.

The return branches use the world's leave-and-return probes: ``in`` probes are held-out
scenes in the training styles, ``open`` probes held-out scenes in styles that training
never sees. :func:`return_probes` checks that split on every case, because the
open-domain score means nothing if a training style slips in. :func:`judge_case` turns a
probe plus the frames a rollout generated into what a judge scores.

Letters: T probe frames, R revisit frames, H/W pixels.
"""

from __future__ import annotations

import torch

from echodsl.data.scene import STYLES
from echodsl.data.world import Probe, World
from echodsl.eval.judges.base import GroundTruth, JudgeCase
from echodsl.eval.metrics import from_uint8


def return_probes(world: World, split: str, count: int, **probe_args) -> list[Probe]:
    """Probes 0..count-1 of ``split`` ("in" or "open"), each checked to come from a scene
    whose style belongs to that split (and, for "open", to no training style).
    ``probe_args`` go to :meth:`World.probe` (e.g. ``away_frames``)."""
    assert split in ("in", "open"), split
    training = set(world.config.in_styles)
    probes = world.probes(split, count, **probe_args)
    for probe in probes:
        style = world.scene(probe.scene_index, split).style
        if STYLES[style]["split"] != split or (split == "open" and style in training):
            raise AssertionError(f"probe {probe.name} uses style {style!r}, not a held-out {split!r} style")
    return probes


def judge_case(probe: Probe, generated: torch.Tensor, *, case_id: str | None = None,
               pose_error_deg: torch.Tensor | None = None) -> JudgeCase:
    """The judge case of ``probe`` given the rollout's frames.

    ``generated`` is float in [-1, 1], either the whole probe (T, 3, H, W) (the revisit
    frames are picked by ``probe.revisit``) or just the revisit frames (R, 3, H, W). The
    first frame is the probe's true frame 0 (the rollout is conditioned on it)."""
    idx = list(probe.revisit)
    assert idx, f"probe {probe.name} has no revisit frames"
    if generated.shape[0] == probe.frames.shape[0]:
        generated = generated[idx]  # (R, 3, H, W)
    assert generated.shape[0] == len(idx), f"{generated.shape[0]} frames for {len(idx)} revisits"
    truth = GroundTruth(revisits=from_uint8(probe.frames[idx]), ids=probe.ids[idx],
                        anchor_id=probe.anchor_id, first_ids=probe.ids[0], pose_error_deg=pose_error_deg)
    return JudgeCase(case_id or probe.name, from_uint8(probe.frames[0]), generated.float(), truth)
