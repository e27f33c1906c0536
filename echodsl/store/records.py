"""What the store takes in and gives back: plain frozen dataclasses, never ORM rows.

The ``from_sql`` functions at the bottom are the one place a ``Sql*`` row becomes a
record; everything returned by :class:`~echodsl.store.store.Store` went through them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from echodsl.store.provenance import Provenance
from echodsl.store.schema import (RUN_LEVEL, SqlArtifact, SqlCaseResult, SqlLatestMetric, SqlMetric, SqlRun,
                                  SqlSetup, SqlSpec)


@dataclass(frozen=True)
class RunIdentity:
    """Two runs with equal identity are the same experiment: the runner skips or resumes.
    A planned pair gives its own (``Pair.identity``)."""

    spec_hash: str  # Profile.spec_hash: the memory design
    setup_hash: str  # Study.setup_hash: backbone, data, train, eval
    build_hash: str  # grammar, lowering code and torch/diffusers versions
    seed: int


@dataclass(frozen=True)
class RunInfo:
    """Everything :meth:`Store.claim_run` (or :meth:`Store.start_run`) needs to open a run:
    its identity plus the names and provenance the stored :class:`Run` starts with."""

    identity: RunIdentity
    profile: str  # the profile's name in its study (sweep members: ``ctx[storage.k=5]``)
    study: str
    provenance: Provenance
    compile_mode: str | None = None  # e.g. "default", "max-autotune", "eager"


@dataclass(frozen=True)
class Run:
    """A run as stored: the last link of a run's chain (plan, claim, outcome, record). ``status``
    is what queries report: a ``running`` run whose heartbeat is older than the store's
    staleness limit reads as ``interrupted``."""

    run_id: int
    identity: RunIdentity
    profile: str
    study: str
    status: str
    started_ms: int
    heartbeat_ms: int
    ended_ms: int | None
    provenance: Provenance
    compile_mode: str | None
    steps: int | None
    step_time_s: float | None  # mean seconds per training step
    device_hours: float | None  # total accelerator time of the run
    error: str | None
    owner: str | None = None  # "host:pid:start" of the process that trains (or trained) it

    @property
    def device_hours_per_step(self) -> float | None:
        if self.device_hours is not None and self.steps:
            return self.device_hours / self.steps
        return None


@dataclass(frozen=True)
class Claim:
    """What :meth:`Store.claim_run` decided for one identity.

    ``action``: "done" (a finished run exists: skip), "busy" (another live process trains
    it: leave it alone), "new" (a fresh run was opened for this process) or "resumed" (a
    dead, interrupted or failed run was taken over by this process; continue from
    ``checkpoint`` if there is one)."""

    action: str
    run: Run | None
    checkpoint: "Artifact | None" = None
    previous_owner: str | None = None  # the owner a "busy" or "resumed" run had


@dataclass(frozen=True)
class Metric:
    """One logged value; ``value`` is NaN where ``is_nan`` (the metric was unavailable)."""

    run_id: int
    branch: str
    name: str
    value: float
    step: int | None = None
    chunk: int | None = None  # None: run-level aggregate
    timestamp_ms: int = 0
    is_nan: bool = False


@dataclass(frozen=True)
class CaseResult:
    """One case of a branch as one judge scored it; ``scores`` maps subscore -> value."""

    run_id: int
    branch: str
    case_id: str
    judge: str
    judge_version: str
    status: str  # "ok" | "failed"
    scores: dict[str, float | None] = field(default_factory=dict)
    overall: float | None = None
    raw_response: str | None = None
    error: str | None = None
    timestamp_ms: int = 0


@dataclass(frozen=True)
class Artifact:
    run_id: int
    kind: str
    path: str
    sha256: str
    size_bytes: int
    timestamp_ms: int


@dataclass(frozen=True)
class SpecRecord:
    spec_hash: str
    profile: str  # the first name this design was recorded under
    canonical: dict[str, Any]
    source_text: str | None
    created_ms: int


@dataclass(frozen=True)
class SetupRecord:
    setup_hash: str
    study: str  # the first study this setup was recorded under
    canonical: dict[str, Any]
    created_ms: int


# --- ORM row -> record -----------------------------------------------------------------

def run_from_sql(row: SqlRun, stale_before_ms: int) -> Run:
    status = row.status
    if status == "running" and row.heartbeat_ms < stale_before_ms:
        status = "interrupted"
    return Run(
        run_id=row.run_id,
        identity=RunIdentity(row.spec_hash, row.setup_hash, row.build_hash, row.seed),
        profile=row.profile, study=row.study, status=status,
        started_ms=row.started_ms, heartbeat_ms=row.heartbeat_ms, ended_ms=row.ended_ms,
        provenance=Provenance(device=row.device, host=row.host, git_commit=row.git_commit,
                              git_dirty=row.git_dirty, versions=json.loads(row.versions_json)),
        compile_mode=row.compile_mode, steps=row.steps, step_time_s=row.step_time_s,
        device_hours=row.device_hours, error=row.error, owner=row.owner,
    )


def metric_from_sql(row: SqlMetric | SqlLatestMetric) -> Metric:
    chunk = row.chunk if row.chunk != RUN_LEVEL else None
    return Metric(run_id=row.run_id, branch=row.branch, name=row.key,
                  value=math.nan if row.is_nan else row.value, step=row.step, chunk=chunk,
                  timestamp_ms=row.timestamp_ms, is_nan=row.is_nan)


def case_from_sql(row: SqlCaseResult) -> CaseResult:
    return CaseResult(run_id=row.run_id, branch=row.branch, case_id=row.case_id, judge=row.judge,
                      judge_version=row.judge_version, status=row.status, scores=json.loads(row.scores_json),
                      overall=row.overall, raw_response=row.raw_response, error=row.error,
                      timestamp_ms=row.timestamp_ms)


def artifact_from_sql(row: SqlArtifact) -> Artifact:
    return Artifact(run_id=row.run_id, kind=row.kind, path=row.path, sha256=row.sha256,
                    size_bytes=row.size_bytes, timestamp_ms=row.timestamp_ms)


def spec_from_sql(row: SqlSpec) -> SpecRecord:
    return SpecRecord(spec_hash=row.spec_hash, profile=row.profile, canonical=json.loads(row.canonical_json),
                      source_text=row.source_text, created_ms=row.created_ms)


def setup_from_sql(row: SqlSetup) -> SetupRecord:
    return SetupRecord(setup_hash=row.setup_hash, study=row.study, canonical=json.loads(row.canonical_json),
                       created_ms=row.created_ms)
