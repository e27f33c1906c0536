"""Validated inserts and upserts behind :class:`~echodsl.store.store.Store`'s ``log_*``.

Upserts use the dialect's ``INSERT ... ON CONFLICT`` (SQLite and PostgreSQL), so a
write is one statement and concurrent writers cannot interleave a read and a write.
Every value reaches the database as a bound parameter.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from echodsl.errors import StoreError
from echodsl.store.columns import BRANCHES, NAME_PATTERN
from echodsl.store.schema import (ARTIFACT_KINDS, CASE_STATUSES, RUN_LEVEL, SqlArtifact, SqlCaseResult,
                                  SqlLatestMetric, SqlMetric, now_ms)

SUPPORTED_DIALECTS = ("sqlite", "postgresql")
_NAME = re.compile(NAME_PATTERN)


@dataclass(frozen=True)
class MetricValue:
    """One value to log (see :mod:`echodsl.store.columns` for the naming contract)."""

    branch: str
    name: str
    value: float
    step: int | None = None
    chunk: int | None = None


def insert(session: Session, table):
    """The dialect's INSERT, which has ``on_conflict_do_*``."""
    return _dialect_insert(session.get_bind().dialect.name, table)


def _dialect_insert(dialect: str, table):
    # Each dialect module is imported when first written to: the PostgreSQL one (with its
    # asyncpg support) costs a SQLite user's every start otherwise.
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql
        return postgresql.insert(table)
    assert dialect == "sqlite", dialect
    from sqlalchemy.dialects import sqlite
    return sqlite.insert(table)


@functools.lru_cache(maxsize=None)
def _latest_upsert(dialect: str):
    """Built once per dialect (building ``excluded`` is slow); run with parameter rows."""
    table = SqlLatestMetric.__table__
    stmt = _dialect_insert(dialect, table)
    return stmt.on_conflict_do_update(
        index_elements=["run_id", "branch", "key", "chunk"],
        set_={c: stmt.excluded[c] for c in ("value", "is_nan", "step", "timestamp_ms")},
        where=func.coalesce(stmt.excluded.step, -1) >= func.coalesce(table.c.step, -1),
    )


def check_metric(m: MetricValue) -> None:
    if m.branch not in BRANCHES:
        raise StoreError(f"unknown metric branch {m.branch!r} (known: {', '.join(BRANCHES)})")
    if not isinstance(m.name, str) or not _NAME.match(m.name) or len(m.name) > 64:
        raise StoreError(f"bad metric name {m.name!r}: use lower_snake_case, at most 64 characters")
    if isinstance(m.value, bool) or not isinstance(m.value, (int, float)):
        raise StoreError(f"metric {m.branch}/{m.name} value {m.value!r} is not a number")
    for label, v in (("step", m.step), ("chunk", m.chunk)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise StoreError(f"metric {m.branch}/{m.name} {label} {v!r} is not an int >= 0")


def write_metrics(session: Session, run_id: int, values: list[MetricValue], stamp: int | None = None) -> None:
    """Append every value to ``metrics`` and upsert ``latest_metrics`` (higher step wins,
    the later write on a tie; no step counts as lower than step 0). Given ``stamp``, a
    batch already written with it (its first row is there) is not written again."""
    for m in values:
        check_metric(m)
    rows = [_metric_row(run_id, m, now_ms() if stamp is None else stamp) for m in values]
    if not rows:
        return
    if stamp is not None and _written(session, rows[0]):
        return
    session.execute(SqlMetric.__table__.insert(), rows)
    # executemany runs the upsert row by row, so one key may appear twice in ``rows``
    latest = [{**row, "chunk": RUN_LEVEL if row["chunk"] is None else row["chunk"]} for row in rows]
    session.execute(_latest_upsert(session.get_bind().dialect.name), latest)


def _written(session: Session, row: dict[str, Any]) -> bool:
    table = SqlMetric.__table__
    same = [table.c[c] == row[c] if row[c] is not None else table.c[c].is_(None)
            for c in ("run_id", "timestamp_ms", "branch", "key", "step", "chunk")]
    return session.execute(select(table.c.id).where(*same).limit(1)).first() is not None


def _metric_row(run_id: int, m: MetricValue, stamp: int) -> dict[str, Any]:
    value = float(m.value)
    is_nan = math.isnan(value)
    return {"run_id": run_id, "branch": m.branch, "key": m.name, "value": 0.0 if is_nan else value,
            "is_nan": is_nan, "step": m.step, "chunk": m.chunk, "timestamp_ms": stamp}


def write_case(session: Session, run_id: int, branch: str, case_id: str, scores: dict[str, float | None], *,
               judge: str, judge_version: str, raw_response: str | None, status: str, error: str | None) -> None:
    if branch not in BRANCHES:
        raise StoreError(f"unknown branch {branch!r} (known: {', '.join(BRANCHES)})")
    if status not in CASE_STATUSES:
        raise StoreError(f"case status must be one of {', '.join(CASE_STATUSES)}, not {status!r}")
    clean = {}
    for name, v in scores.items():
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise StoreError(f"case {case_id!r} score {name}={v!r} is not a number")
        clean[str(name)] = None if v is None or math.isnan(v) else float(v)
    row = {"run_id": run_id, "branch": branch, "case_id": case_id, "judge": judge, "judge_version": judge_version,
           "status": status, "overall": clean.get("overall"), "scores_json": json.dumps(clean, sort_keys=True),
           "raw_response": raw_response, "error": error, "timestamp_ms": now_ms()}
    stmt = insert(session, SqlCaseResult).values(**row)
    keep = ("judge_version", "status", "overall", "scores_json", "raw_response", "error", "timestamp_ms")
    session.execute(stmt.on_conflict_do_update(index_elements=["run_id", "branch", "case_id", "judge"],
                                               set_={c: stmt.excluded[c] for c in keep}))


def artifact_row(run_id: int, path: str | os.PathLike, kind: str) -> dict[str, Any]:
    """Hash the file at ``path`` (before any transaction opens: checkpoints are large)."""
    if kind not in ARTIFACT_KINDS:
        raise StoreError(f"artifact kind must be one of {', '.join(ARTIFACT_KINDS)}, not {kind!r}")
    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise StoreError(f"{file}: no such file to record as an artifact")
    digest, size = sha256_file(file)
    return {"run_id": run_id, "kind": kind, "path": str(file), "sha256": digest, "size_bytes": size,
            "timestamp_ms": now_ms()}


def write_artifact(session: Session, row: dict[str, Any]) -> None:
    """Record an :func:`artifact_row`; a second log of one path replaces the first."""
    stmt = insert(session, SqlArtifact).values(**row)
    keep = ("kind", "sha256", "size_bytes", "timestamp_ms")
    session.execute(stmt.on_conflict_do_update(index_elements=["run_id", "path"],
                                               set_={c: stmt.excluded[c] for c in keep}))


def sha256_file(path: Path) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size
