"""The study's eval clause, read by eval/: branches, judge and the sizes they run at."""

from pathlib import Path

import echodsl
from echodsl.eval.plan import EvalPlan, EvalSizes
from echodsl.eval.report import EvalConfig

ROOT = Path(__file__).resolve().parents[2]


def _study(eval_clause: str, preset: str = "tiny"):
    return echodsl.loads(f"""
profile a {{}}
study s {{
    backbone    wan(preset = {preset})
    data        world(scenes = 2)
    train       flow(steps = 2)
    eval        {eval_clause}
    profiles    a
}}
""").study("s")


def test_branches_follow_the_clause_and_write_rides_with_return_probes():
    assert EvalPlan.from_study(_study("replay"), "tiny").branches == ("replay",)
    plan = EvalPlan.from_study(_study("return(domain = open, judge = openai), replay, return(domain = in)"), "tiny")
    assert plan.branches == ("return_open", "replay", "return_in", "write")
    assert plan.judge == "openai" == plan.config.judge


def test_a_study_and_its_bare_clause_give_the_same_plan():
    study = echodsl.load(ROOT / "specs" / "paper.mem").studies
    for s in study.values():
        assert EvalPlan.from_study(s, "tiny") == EvalPlan.from_study(s.eval, "tiny")


def test_sizes_default_by_preset_and_override_per_branch():
    clause = _study("replay, return(domain = in)").eval
    tiny = EvalPlan.from_study(clause, "tiny").config
    assert (tiny.replay_cases, tiny.return_cases, tiny.write_cases, tiny.chunks, tiny.steps) == (4, 8, 8, 3, 2)
    assert EvalPlan.from_study(clause, "wan2_1_1_3b").config == EvalConfig()
    assert EvalPlan.from_study(clause, None).config == EvalConfig()
    small = EvalPlan.from_study(clause, "tiny", EvalSizes(cases=1, chunks=2, steps=1)).config
    assert (small.replay_cases, small.return_cases, small.write_cases, small.chunks, small.steps) == (1, 1, 4, 2, 1)
