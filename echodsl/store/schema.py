"""The SQLAlchemy ORM classes of the results store, one per table, each prefixed ``Sql``.

These rows never leave ``echodsl.store``: :mod:`echodsl.store.records` turns them into
frozen dataclasses. The tables are *created* by the alembic migrations under
``migrations/`` (never by ``create_all``); a test checks that these classes and the
migrated schema agree, so a change here needs a new migration.

Times are integer milliseconds since the epoch (portable across databases). Metric values
keep NaN out of the database: ``is_nan`` is set and ``value`` stored as 0, as MLflow does,
because NaN does not survive every backend.
"""

from __future__ import annotations

import time

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Float, ForeignKey, Index, Integer,
                        MetaData, String, Text, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from echodsl.store.columns import BRANCHES

STATUSES = ("running", "finished", "failed", "interrupted")
CASE_STATUSES = ("ok", "failed")
ARTIFACT_KINDS = ("checkpoint", "video", "image", "log", "report", "file")
RUN_LEVEL = -1  # latest_metrics.chunk for a run-level value (a primary key cannot be NULL)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class SqlSpec(Base):
    """A resolved memory design, once per spec_hash (the first name and source seen)."""

    __tablename__ = "specs"
    spec_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    profile: Mapped[str] = mapped_column(String(255))
    canonical_json: Mapped[str] = mapped_column(Text)
    source_text: Mapped[str | None] = mapped_column(Text)
    created_ms: Mapped[int] = mapped_column(BigInteger, default=now_ms)


class SqlSetup(Base):
    """A study's fixed setup (backbone, data, train, eval), once per setup_hash."""

    __tablename__ = "setups"
    setup_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    study: Mapped[str] = mapped_column(String(255))
    canonical_json: Mapped[str] = mapped_column(Text)
    created_ms: Mapped[int] = mapped_column(BigInteger, default=now_ms)


class SqlRun(Base):
    """One training + evaluation of one design under one setup, build and seed."""

    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="status"),
        Index(None, "spec_hash", "setup_hash", "build_hash", "seed"),
        Index(None, "study"),
    )
    run_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    spec_hash: Mapped[str] = mapped_column(ForeignKey("specs.spec_hash"))
    setup_hash: Mapped[str] = mapped_column(ForeignKey("setups.setup_hash"))
    build_hash: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int] = mapped_column(Integer)
    profile: Mapped[str] = mapped_column(String(255))
    study: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    started_ms: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    heartbeat_ms: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    ended_ms: Mapped[int | None] = mapped_column(BigInteger)
    git_commit: Mapped[str | None] = mapped_column(String(64))
    git_dirty: Mapped[bool | None] = mapped_column(Boolean)
    versions_json: Mapped[str] = mapped_column(Text)
    device: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255))
    compile_mode: Mapped[str | None] = mapped_column(String(64))
    steps: Mapped[int | None] = mapped_column(BigInteger)
    step_time_s: Mapped[float | None] = mapped_column(Float(53))
    device_hours: Mapped[float | None] = mapped_column(Float(53))
    error: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(255))  # "host:pid:start" of the process training it


class SqlRunClaim(Base):
    """Exactly one row per run identity: claiming a pair locks it, so concurrent runners
    agree on which run (``run_id``) trains that pair."""

    __tablename__ = "run_claims"
    spec_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    setup_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    build_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    seed: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.run_id"))
    claimed_ms: Mapped[int] = mapped_column(BigInteger, default=now_ms)


class SqlMetric(Base):
    """Every logged value, append-only (a surrogate key, so concurrent equal rows all stay)."""

    __tablename__ = "metrics"
    __table_args__ = (
        CheckConstraint(_in("branch", BRANCHES), name="branch"),
        Index(None, "run_id", "branch", "key"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.run_id"))
    branch: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float(53))
    is_nan: Mapped[bool] = mapped_column(Boolean)
    step: Mapped[int | None] = mapped_column(BigInteger)
    chunk: Mapped[int | None] = mapped_column(Integer)
    timestamp_ms: Mapped[int] = mapped_column(BigInteger, default=now_ms)


class SqlLatestMetric(Base):
    """The current value of each (run, branch, key, chunk): the value with the highest step,
    the later write on a tie. Upserted with every metric write; what compare reads."""

    __tablename__ = "latest_metrics"
    __table_args__ = (CheckConstraint(_in("branch", BRANCHES), name="branch"),)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.run_id"), primary_key=True)
    branch: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    chunk: Mapped[int] = mapped_column(Integer, primary_key=True)  # RUN_LEVEL for run-level
    value: Mapped[float] = mapped_column(Float(53))
    is_nan: Mapped[bool] = mapped_column(Boolean)
    step: Mapped[int | None] = mapped_column(BigInteger)
    timestamp_ms: Mapped[int] = mapped_column(BigInteger, default=now_ms)


class SqlCaseResult(Base):
    """One case of one branch as a judge scored it; re-scoring a case replaces it."""

    __tablename__ = "case_results"
    __table_args__ = (
        CheckConstraint(_in("branch", BRANCHES), name="branch"),
        CheckConstraint(_in("status", CASE_STATUSES), name="status"),
        UniqueConstraint("run_id", "branch", "case_id", "judge"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.run_id"))
    branch: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[str] = mapped_column(String(255))
    judge: Mapped[str] = mapped_column(String(64))
    judge_version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    overall: Mapped[float | None] = mapped_column(Float(53))
    scores_json: Mapped[str] = mapped_column(Text)
    raw_response: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    timestamp_ms: Mapped[int] = mapped_column(BigInteger, default=now_ms)


class SqlArtifact(Base):
    """A file a run produced, with its content hash at the time it was logged."""

    __tablename__ = "artifacts"
    __table_args__ = (
        CheckConstraint(_in("kind", ARTIFACT_KINDS), name="kind"),
        UniqueConstraint("run_id", "path"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.run_id"))
    kind: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    timestamp_ms: Mapped[int] = mapped_column(BigInteger, default=now_ms)


class SqlMetricDefinition(Base):
    """What a run's values of one metric mean: the definition they were computed under
    (``psnr/v1``), the frame size they were scored at, and the definition's full text as
    it was when written (so a store read by a later echodsl still says what it holds)."""

    __tablename__ = "metric_definitions"
    __table_args__ = (CheckConstraint(_in("branch", BRANCHES), name="branch"),)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.run_id"), primary_key=True)
    branch: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    definition: Mapped[str] = mapped_column(String(64))
    resolution: Mapped[str | None] = mapped_column(String(32))  # "HxW", or NULL where not image-based
    detail_json: Mapped[str] = mapped_column(Text)
    timestamp_ms: Mapped[int] = mapped_column(BigInteger, default=now_ms)
