"""Judges of the open-domain return probe: ``rubric`` (offline, from ground truth, the
default) and ``openai`` (any OpenAI-compatible VLM endpoint). See :mod:`.base`."""

from __future__ import annotations

from echodsl.eval.judges.base import (SUBSCORES, WEIGHTS, GroundTruth, Judge, JudgeCase, JudgeResult,
                                      Subscores, overall_score)

JUDGES = ("rubric", "openai")

__all__ = ["JUDGES", "SUBSCORES", "WEIGHTS", "GroundTruth", "Judge", "JudgeCase", "JudgeResult",
           "Subscores", "make_judge", "overall_score"]


def make_judge(name: str, **openai_options) -> Judge:
    """The judge called ``name``; ``openai_options`` override the OPENAI judge's env config
    (base_url, model, api_key, cache_dir, concurrency, ...)."""
    if name == "rubric":
        from echodsl.eval.judges.rubric import RubricJudge

        return RubricJudge()
    if name == "openai":
        from echodsl.eval.judges.openai import OpenAIJudge, OpenAIJudgeConfig

        return OpenAIJudge(OpenAIJudgeConfig.from_env(**openai_options))
    from echodsl.errors import UsageError

    raise UsageError(f"unknown judge {name!r}", hint=f"choose one of {', '.join(JUDGES)}")
