"""What a study's ``eval`` clause asks for, read once: the branches to run, the judge of the
open-domain branch, and the :class:`EvalConfig` they run with at the chosen sizes.

``eval replay, return(domain = in), return(domain = open, judge = rubric)`` becomes the
branches ``replay``, ``return_in``, ``return_open`` and ``write`` (write capacity rides
along with the return probes: the paper reports write and read-out capacity side by side).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from echodsl.eval.report import EvalConfig
from echodsl.lang.schema import DEFAULT_JUDGE
from echodsl.lang.settings import EvalReplay, EvalReturn, settings_of
from echodsl.presets import EVAL_DEFAULTS


@dataclass(frozen=True)
class EvalSizes:
    """How many held-out cases each branch scores and how they are sampled (None = the
    preset's default)."""

    cases: int | None = None  # per branch
    chunks: int | None = None
    steps: int | None = None  # Euler steps per chunk

    def config(self, preset: str, judge: str) -> EvalConfig:
        """The EvalConfig of a run on ``preset`` judged by ``judge``."""
        base = dict(EVAL_DEFAULTS.get(preset, {}))
        if self.cases:
            base.update(replay_cases=self.cases, return_cases=self.cases, write_cases=max(self.cases, 4))
        if self.chunks:
            base["chunks"] = self.chunks
        if self.steps:
            base["steps"] = self.steps
        return EvalConfig(judge=judge, **base)


@dataclass(frozen=True)
class EvalPlan:
    """The evaluation one run of a study gets."""

    branches: tuple[str, ...]  # branch names in the clause's order, write last
    judge: str
    config: EvalConfig

    @classmethod
    def from_study(cls, study_or_clause, preset: str | None, sizes: EvalSizes = EvalSizes()) -> "EvalPlan":
        """``study_or_clause``: a ``Study`` or ``RunConfig`` (anything with setup ``settings``)
        or the ``eval`` clause itself (Variants or settings); ``preset``: the backbone preset
        (sizes default by it)."""
        settings = getattr(study_or_clause, "settings", None)
        clause = settings.eval if settings is not None else study_or_clause
        branches, judge = _read_clause(tuple(settings_of("eval", e) for e in clause))
        return cls(branches, judge, sizes.config(preset or "", judge))


def _read_clause(clause: Iterable[EvalReplay | EvalReturn]) -> tuple[tuple[str, ...], str]:
    names, judge = [], DEFAULT_JUDGE
    for e in clause:
        if isinstance(e, EvalReplay):
            names.append("replay")
        else:
            names.append("return_in" if e.domain == "in" else "return_open")
            if e.domain == "open":
                judge = e.judge
    if any(n.startswith("return") for n in names):
        names.append("write")
    return tuple(dict.fromkeys(names)), judge
