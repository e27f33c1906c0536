"""The evaluation's configuration and its result: per-case rows, run-level metric rows, and
a plain-text rendering (one table per branch).

The report is flat on purpose, so the results store can map it row for row:

* a :class:`MetricRow` is (branch, name, value, chunk) plus the interval over cases;
  ``value`` None means *unavailable* (LPIPS without weights, write capacity of a profile
  that stores nothing), with the reason in ``note``: it is never a zero;
* a :class:`CaseRow` is one case of one branch: its scores, and for judged cases the
  judge, its version, the raw response, the status and the error.

Branches: ``replay``, ``return_in``, ``return_open``, ``write``. Metric names:
``psnr``, ``ssim``, ``lpips``, ``judge_overall``, ``judge_appearance``, ``judge_presence``,
``judge_view``, ``judge_scene``, ``write_accuracy``, ``write_chance``. Replay rows with a
``chunk`` (0-based) are per-chunk means; rows without one are over all frames.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from echodsl.errors import NotFound
from echodsl.eval.aggregate import mean_ci
from echodsl.eval.write_probe import WriteProbeConfig

BRANCHES = ("replay", "return_in", "return_open", "write")
# CLI spelling -> branch name
BRANCH_ALIASES = {"replay": "replay", "in": "return_in", "open": "return_open", "write": "write",
                  **{b: b for b in BRANCHES}}
FRAME_METRICS = ("psnr", "ssim", "lpips")
JUDGE_METRICS = ("judge_overall", "judge_appearance", "judge_presence", "judge_view", "judge_scene")
WRITE_METRICS = ("write_accuracy", "write_chance")


@dataclass(frozen=True)
class EvalConfig:
    """What every profile is evaluated with. Case ids are stable: case i is the same case
    whatever the counts, so raising a count only adds cases."""

    replay_cases: int = 8
    return_cases: int = 8  # per return split
    write_cases: int = 12  # probes per split for the write probe (24 in all; shared rollouts)
    chunks: int = 4  # replay chunks of (segment_frames - 1) generated frames each
    steps: int = 16  # Euler steps per chunk
    shift: float | None = None  # None: the run's training shift
    seed: int | None = None  # None: the run's seed
    lpips_weights: Path | None = None  # None: LPIPS is reported unavailable
    judge: str = "rubric"
    judge_options: dict[str, Any] = field(default_factory=dict)  # OpenAI judge overrides
    away_frames: int = 4  # World.probe's leave length parameter
    write_probe: WriteProbeConfig = field(default_factory=WriteProbeConfig)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["lpips_weights"] = str(self.lpips_weights) if self.lpips_weights else None
        d["judge_options"] = {k: v for k, v in self.judge_options.items() if k != "api_key"}
        return d


@dataclass(frozen=True)
class MetricRow:
    branch: str
    name: str
    value: float | None  # mean over cases; None = unavailable
    chunk: int | None = None  # replay per-chunk rows, 0-based
    low: float | None = None  # 95% t-interval over cases
    high: float | None = None
    n: int = 0  # cases with a value
    missing: int = 0  # cases without one (failed judge call, unavailable metric)
    note: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class CaseRow:
    branch: str
    case_id: str
    scores: dict[str, float | None]
    status: str = "ok"  # "ok" | "failed"
    error: str | None = None
    judge: str | None = None
    judge_version: str | None = None
    raw_response: str | None = None
    chunks: list[dict[str, float | None]] = field(default_factory=list)  # replay: per-chunk scores
    detail: dict[str, Any] = field(default_factory=dict)  # e.g. revisit frames, write label/feature

    def to_dict(self, *, features: bool = False) -> dict:
        d = asdict(self)
        if not features:
            d["detail"] = {k: v for k, v in self.detail.items() if k != "feature"}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "CaseRow":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass
class BranchReport:
    name: str
    metrics: list[MetricRow]
    cases: list[CaseRow]
    notes: dict[str, str] = field(default_factory=dict)


@dataclass
class EvalReport:
    run: dict[str, Any]  # directory, checkpoint, step, profile, spec_hash, seed, ...
    config: EvalConfig
    branches: dict[str, BranchReport]  # in BRANCHES order

    def metric_rows(self) -> list[MetricRow]:
        return [m for b in self.branches.values() for m in b.metrics]

    def case_rows(self) -> list[CaseRow]:
        return [c for b in self.branches.values() for c in b.cases]

    def metric(self, branch: str, name: str, chunk: int | None = None) -> float | None:
        """The value of one metric row (``NotFound``, a KeyError, when the row does not exist)."""
        rows = self.branches[branch].metrics if branch in self.branches else []
        for m in rows:
            if m.name == name and m.chunk == chunk:
                return m.value
        wanted = f"{branch}/{name}" + ("" if chunk is None else f" chunk {chunk}")
        raise NotFound("metric", wanted, [f"{branch}/{m.name}" for m in rows])

    def to_dict(self) -> dict:
        return {"run": self.run, "config": self.config.to_dict(), "branches": list(self.branches),
                "notes": {k: b.notes for k, b in self.branches.items() if b.notes},
                "metrics": [m.to_dict() for m in self.metric_rows()],
                "definitions": self.definitions(),
                "cases": [c.to_dict() for c in self.case_rows()]}

    def definitions(self) -> dict[str, dict[str, str]]:
        """The definition of each reported metric that has one (see eval.definitions)."""
        from echodsl.eval.definitions import current_definition

        found = {m.name: current_definition(m.name) for m in self.metric_rows()}
        return {name: d.to_json() for name, d in found.items() if d is not None}


def rows_from_cases(branch: str, cases: Sequence[CaseRow], names: Iterable[str],
                    notes: dict[str, str] | None = None) -> list[MetricRow]:
    """Mean and 95% interval of each score over the cases (failed cases count as missing);
    per-chunk rows first where the cases carry chunks. Also serves seeds pooled together."""
    notes = notes or {}
    names = list(names)
    rows = []
    chunks = max((len(c.chunks) for c in cases), default=0)
    for k in range(chunks):
        for name in names:
            rows.append(_row(branch, name, [c.chunks[k].get(name) if c.status == "ok" and k < len(c.chunks) else None
                                            for c in cases], notes.get(name), chunk=k))
    for name in names:
        rows.append(_row(branch, name, [c.scores.get(name) if c.status == "ok" else None for c in cases],
                         notes.get(name)))
    return rows


def _row(branch: str, name: str, values: list[float | None], note: str | None, chunk: int | None = None) -> MetricRow:
    ci = mean_ci(values)
    return MetricRow(branch, name, ci.mean, chunk, ci.low, ci.high, ci.n, ci.missing, None if ci.n else note)


def aggregate_reports(reports: Sequence[EvalReport]) -> list[MetricRow]:
    """Multi-seed aggregation: mean and 95% interval per metric over seeds and cases
    (every (seed, case) value is one observation, as :func:`aggregate.aggregate` ``pooled``)."""
    out: list[MetricRow] = []
    for branch in BRANCHES:
        present = [r.branches[branch] for r in reports if branch in r.branches]
        if not present:
            continue
        if branch == "write":  # one value per run, not per case
            for name in WRITE_METRICS:
                out.append(_row(branch, name, [_value(b, name) for b in present], present[0].notes.get(name)))
            continue
        names = list(dict.fromkeys(m.name for m in present[0].metrics))
        out += rows_from_cases(branch, [c for b in present for c in b.cases], names, present[0].notes)
    return out


def _value(branch: BranchReport, name: str) -> float | None:
    return next((m.value for m in branch.metrics if m.name == name and m.chunk is None), None)


# --- rendering ---------------------------------------------------------------------

def render(report: EvalReport) -> str:
    """One plain-text table per branch; replay shows a row per chunk, then the overall row."""
    r = report.run
    parts = [f"{r.get('profile')} @ step {r.get('step')} ({r.get('checkpoint')})"]
    for branch in report.branches.values():
        names = list(dict.fromkeys(m.name for m in branch.metrics))
        head = ["", *names]
        body = []
        for chunk in sorted({m.chunk for m in branch.metrics if m.chunk is not None}):
            body.append([f"chunk {chunk}", *(_cell(branch, n, chunk) for n in names)])
        body.append(["overall" if body else "mean", *(_cell(branch, n, None) for n in names)])
        ok = sum(c.status == "ok" for c in branch.cases)
        title = f"{branch.name}: {ok}/{len(branch.cases)} cases scored"
        parts.append(title + "\n" + _table(head, body) + "".join(f"\n  {k}: {v}" for k, v in branch.notes.items()))
    return "\n\n".join(parts)


def _cell(branch: BranchReport, name: str, chunk: int | None) -> str:
    row = next((m for m in branch.metrics if m.name == name and m.chunk == chunk), None)
    if row is None or row.value is None:
        return "n/a"
    digits = 3 if abs(row.value) < 10 else 2
    text = f"{row.value:.{digits}f}"
    if row.low is not None:
        text += f" ±{(row.high - row.low) / 2:.{digits}f}"
    return text


def _table(head: list[str], body: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [head, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
