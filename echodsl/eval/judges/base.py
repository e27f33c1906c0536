"""The judge interface of the open-domain return probe: a case in, four 0–5 subscores out.

A judge compares the first frame (the view of the identity-anchor object before the
camera leaves) with the revisit frames (generated after it comes back) and scores
appearance, presence, view and scene. The overall score is computed from the subscores
by :func:`overall_score` only, never reported by a judge, so every judge is combined the
same way. A judge never raises for one bad case: the case comes back ``failed`` with its
error, and the rest of the run goes on.

Letters: R revisit frames, H/W pixels.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import torch

SUBSCORES = ("appearance", "presence", "view", "scene")
WEIGHTS = {"appearance": 0.45, "presence": 0.25, "view": 0.20, "scene": 0.10}
MAX_SUBSCORE = 5.0


def overall_score(appearance: float, presence: float, view: float, scene: float) -> float:
    """The study's open-domain score, 0–100: 100 × (0.45a + 0.25p + 0.20v + 0.10s) / 5."""
    weighted = (WEIGHTS["appearance"] * appearance + WEIGHTS["presence"] * presence
                + WEIGHTS["view"] * view + WEIGHTS["scene"] * scene)
    return 100.0 * weighted / MAX_SUBSCORE


@dataclass(frozen=True)
class Subscores:
    """Four judge subscores, each a float in [0, 5]."""

    appearance: float
    presence: float
    view: float
    scene: float

    def __post_init__(self) -> None:
        for name in SUBSCORES:
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and 0 <= value <= MAX_SUBSCORE):
                raise ValueError(f"subscore {name}={value!r} is not a number in [0, 5]")

    @property
    def overall(self) -> float:
        return overall_score(self.appearance, self.presence, self.view, self.scene)


@dataclass(frozen=True)
class GroundTruth:
    """What the embedded world knows about a return probe, for the rubric judge."""

    revisits: torch.Tensor  # (R, 3, H, W) float in [-1, 1]: the true revisit frames
    ids: torch.Tensor  # (R, H, W) int64 object ids of the true revisit frames (0 = room)
    anchor_id: int  # the identity-anchor object's id
    first_ids: torch.Tensor | None = None  # (H, W) object ids of the first frame
    pose_error_deg: torch.Tensor | None = None  # (R,) camera rotation error of each revisit frame


@dataclass(frozen=True)
class JudgeCase:
    """One return-probe case: first frame vs revisit frames, all float in [-1, 1]."""

    case_id: str
    first: torch.Tensor  # (3, H, W) the anchor view before the camera leaves
    revisits: torch.Tensor  # (R, 3, H, W) generated frames after the camera has returned
    truth: GroundTruth | None = None  # required by the rubric judge, ignored by VLM judges

    def __post_init__(self) -> None:
        assert self.first.dim() == 3 and self.revisits.dim() == 4, (tuple(self.first.shape), tuple(self.revisits.shape))
        assert self.revisits.shape[0] >= 1 and self.revisits.shape[1:] == self.first.shape, \
            f"revisits {tuple(self.revisits.shape)} vs first {tuple(self.first.shape)}"
        if self.truth is not None:
            r = self.revisits.shape[0]
            assert self.truth.revisits.shape == self.revisits.shape, (tuple(self.truth.revisits.shape), r)
            assert self.truth.ids.shape == (r, *self.revisits.shape[-2:]), tuple(self.truth.ids.shape)


@dataclass(frozen=True)
class JudgeResult:
    """A judge's verdict on one case. ``raw`` is what the judge said (the VLM's text, or
    the rubric's measured quantities as JSON); ``overall`` is derived, never judged."""

    case_id: str
    judge: str
    version: str
    status: Literal["ok", "failed"]
    scores: Subscores | None
    raw: str
    error: str | None = None
    cached: bool = False  # served from the judge's cache (no new judge call)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def overall(self) -> float | None:
        return None if self.scores is None else self.scores.overall

    def to_dict(self) -> dict:
        subs = asdict(self.scores) if self.scores else dict.fromkeys(SUBSCORES)
        return {"case_id": self.case_id, "judge": self.judge, "version": self.version,
                "status": self.status, **subs, "overall": self.overall,
                "raw": self.raw, "error": self.error, "cached": self.cached}


Progress = Callable[[JudgeResult], None]


class Judge(ABC):
    """Scores return-probe cases. Subclasses set ``name`` and ``version`` (bump the
    version whenever a change can alter a score) and implement :meth:`score`."""

    name: str = "judge"
    version: str = "0"

    @abstractmethod
    def score(self, case: JudgeCase) -> JudgeResult:
        """Score one case; failures come back as ``status="failed"``, not as exceptions."""

    def score_many(self, cases: Sequence[JudgeCase], progress: Progress | None = None) -> list[JudgeResult]:
        """Score cases in order (judges with I/O override this to run concurrently).
        ``progress`` is called once per finished case, e.g. to save it at once."""
        out = []
        for case in cases:
            result = self.safe_score(case)
            if progress is not None:
                progress(result)
            out.append(result)
        return out

    def safe_score(self, case: JudgeCase) -> JudgeResult:
        """:meth:`score` with any unexpected exception turned into a failed result."""
        try:
            return self.score(case)
        except Exception as exc:  # noqa: BLE001 - one broken case must not end the run
            return self.failed(case, f"{type(exc).__name__}: {exc}")

    def ok(self, case: JudgeCase, scores: Subscores, raw: str, *, cached: bool = False) -> JudgeResult:
        return JudgeResult(case.case_id, self.name, self.version, "ok", scores, raw, None, cached)

    def failed(self, case: JudgeCase, error: str, raw: str = "") -> JudgeResult:
        return JudgeResult(case.case_id, self.name, self.version, "failed", None, raw, error)
