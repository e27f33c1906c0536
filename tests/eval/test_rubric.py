"""The overall-score formula, the rubric judge on real probes of the embedded world
(perfect, anchor erased, noisy), and the fixed return-probe cases."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from echodsl.eval.cases import judge_case, return_probes
from echodsl.eval.judges import JudgeCase, Subscores, make_judge, overall_score
from echodsl.eval.judges.rubric import RubricJudge
from echodsl.eval.metrics import from_uint8


@pytest.mark.parametrize("subs, expected", [
    ((5, 5, 5, 5), 100.0), ((0, 0, 0, 0), 0.0), ((5, 0, 0, 0), 45.0), ((0, 5, 0, 0), 25.0),
    ((0, 0, 5, 0), 20.0), ((0, 0, 0, 5), 10.0), ((4, 3, 2, 1), 61.0),  # 100 (1.8 + .75 + .4 + .1) / 5
])
def test_overall_score_formula(subs, expected):
    assert overall_score(*subs) == pytest.approx(expected)
    assert Subscores(*subs).overall == pytest.approx(expected)


@pytest.mark.parametrize("bad", [5.5, -0.1, float("nan"), "4"])
def test_subscores_must_be_numbers_from_0_to_5(bad):
    with pytest.raises(ValueError):
        Subscores(bad, 1, 1, 1)


def erased_rollout(world, probe) -> torch.Tensor:
    """The probe re-rendered with its anchor object removed from the scene."""
    scene = world.scene(probe.scene_index, probe.split)
    scene = dataclasses.replace(scene, objects=tuple(o for o in scene.objects if o.object_id != probe.anchor_id))
    return from_uint8(world.render(scene, probe.poses).rgb)  # (T, 3, H, W)


@pytest.mark.parametrize("which", ["open_probe", "in_probe"])
def test_identical_rollout_scores_full_marks(which, request):
    probe = request.getfixturevalue(which)
    result = RubricJudge().score(judge_case(probe, from_uint8(probe.frames)))
    assert result.ok and result.overall == pytest.approx(100.0)
    assert (result.judge, result.version) == ("rubric", "1")
    assert json.loads(result.raw)["per_frame"]["presence"] == [1.0] * len(probe.revisit)


def test_erased_anchor_scores_low_on_presence_and_appearance(world, open_probe):
    result = RubricJudge().score(judge_case(open_probe, erased_rollout(world, open_probe)))
    s = result.scores
    assert s.presence < 0.5 and s.appearance < 1.5, s
    assert s.scene > 4.5, s  # the room outside the anchor is untouched
    assert result.overall < 40


def test_noise_lands_between_and_the_rubric_is_deterministic(open_probe):
    g = torch.Generator().manual_seed(0)
    frames = from_uint8(open_probe.frames)
    noisy = (frames + 0.1 * torch.randn(frames.shape, generator=g)).clamp(-1, 1)
    first, second = (RubricJudge().score(judge_case(open_probe, noisy)) for _ in range(2))
    assert 30 < first.overall < 95
    assert first == second


def test_pose_error_scales_the_view_score(open_probe):
    frames = from_uint8(open_probe.frames)
    errors = torch.full((len(open_probe.revisit),), 22.5)
    result = RubricJudge().score(judge_case(open_probe, frames, pose_error_deg=errors))
    assert result.scores.view == pytest.approx(2.5) and result.scores.presence == 5.0


def test_rubric_needs_ground_truth_and_fails_the_case_instead_of_raising(open_probe):
    case = JudgeCase("c0", from_uint8(open_probe.frames[0]), from_uint8(open_probe.frames[-2:]))
    results = make_judge("rubric").score_many([case])
    assert results[0].status == "failed" and "ground truth" in results[0].error
    assert results[0].to_dict()["overall"] is None


def test_judge_case_takes_whole_probe_or_revisit_frames(open_probe):
    frames = from_uint8(open_probe.frames)
    whole = judge_case(open_probe, frames)
    only = judge_case(open_probe, frames[list(open_probe.revisit)], case_id="x")
    assert torch.equal(whole.revisits, only.revisits) and only.case_id == "x"
    assert whole.case_id == open_probe.name and whole.truth.anchor_id == open_probe.anchor_id


def test_open_domain_cases_never_use_in_domain_styles(world):
    probes = return_probes(world, "open", 3)
    styles = {world.scene(p.scene_index, "open").style for p in probes}
    assert styles <= set(world.config.open_styles) and not styles & set(world.config.in_styles)
    in_styles = {world.scene(p.scene_index, "in").style for p in return_probes(world, "in", 2)}
    assert in_styles <= set(world.config.in_styles)


def test_a_training_style_in_the_open_stream_is_refused(world, monkeypatch):
    real = world.scene
    monkeypatch.setattr(world, "scene", lambda i, split="train": real(i, "in" if split == "open" else split))
    with pytest.raises(AssertionError, match="held-out 'open'"):
        return_probes(world, "open", 1)
