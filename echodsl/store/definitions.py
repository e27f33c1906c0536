"""Metric definitions in the store: which definition each run's values of a metric were
computed under, and the check that keeps values of different definitions out of one
column of ``results compare``.

A run records, per (branch, metric), the definition id (``psnr/v1``), the resolution the
frames were scored at and the definition's text (the evaluation's registry,
:mod:`echodsl.eval.definitions`, as it was when the values were written). Two values
compare only when both the id and the resolution agree. Runs stored before definitions
were recorded have none; mixing them with recorded ones is allowed with a warning, since
what they meant cannot be known.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select

from echodsl.errors import UsageError
from echodsl.store.columns import Column
from echodsl.store.groups import Group
from echodsl.store.schema import SqlMetricDefinition, now_ms
from echodsl.store.store import Store


@dataclass(frozen=True)
class StoredDefinition:
    """The definition one run's values of one metric were computed under."""

    branch: str
    name: str
    definition: str  # e.g. "psnr/v1"
    resolution: str | None = None  # "HxW" the frames were scored at
    detail: dict[str, Any] = field(default_factory=dict, compare=False)  # the definition's fields

    @property
    def label(self) -> str:
        """``psnr/v1 at 32x32``: what must agree for two values to share a column."""
        return self.definition + (f" at {self.resolution}" if self.resolution else "")

    def to_json(self) -> dict[str, Any]:
        """The id, the concrete resolution and the definition's fields (its general rule
        for the resolution as ``resolution_rule``)."""
        out = {"definition": self.definition, "resolution": self.resolution}
        out.update({k: v for k, v in self.detail.items() if k not in ("id", "metric", "resolution")})
        if "resolution" in self.detail:
            out["resolution_rule"] = self.detail["resolution"]
        return out


def record_definitions(store: Store, run_id: int, definitions: Iterable[StoredDefinition]) -> None:
    """Record (or replace) the definitions of ``run_id``'s metrics, one per (branch, name)."""
    rows = [{"run_id": run_id, "branch": d.branch, "key": d.name, "definition": d.definition,
             "resolution": d.resolution, "detail_json": json.dumps(d.detail, sort_keys=True),
             "timestamp_ms": now_ms()} for d in definitions]
    if not rows:
        return
    table = SqlMetricDefinition.__table__
    with store._write() as s:  # noqa: SLF001 - the store's own package
        for r in rows:
            s.execute(delete(table).where(table.c.run_id == run_id, table.c.branch == r["branch"],
                                          table.c.key == r["key"]))
        s.execute(table.insert(), rows)


def definitions_of(store: Store, run_ids: Iterable[int]) -> dict[int, dict[tuple[str, str], StoredDefinition]]:
    """run_id -> (branch, name) -> its recorded definition (runs without any are absent)."""
    ids = sorted(set(run_ids))
    out: dict[int, dict[tuple[str, str], StoredDefinition]] = {}
    if not ids:
        return out
    t = SqlMetricDefinition.__table__.c
    with store._read() as s:  # noqa: SLF001
        conn = s.connection()
        for start in range(0, len(ids), 500):  # bounded IN lists
            query = select(t.run_id, t.branch, t.key, t.definition, t.resolution, t.detail_json).where(
                t.run_id.in_(ids[start:start + 500]))
            for run_id, branch, key, definition, resolution, detail in conn.execute(query):
                out.setdefault(run_id, {})[(branch, key)] = StoredDefinition(
                    branch, key, definition, resolution, json.loads(detail))
    return out


@dataclass(frozen=True)
class ColumnDefinitions:
    """The definition under which one compare column's values were computed."""

    definition: StoredDefinition | None  # None: no run of the column recorded one
    unrecorded: tuple[int, ...] = ()  # runs with a value but no recorded definition


def check_columns(store: Store, groups: Sequence[Group], columns: Sequence[Column]
                  ) -> tuple[dict[str, ColumnDefinitions], list[str]]:
    """Per column label, the one definition its values share, and warnings. A UsageError
    naming both definitions (and a run of each) when a column would mix two."""
    runs = [r.run_id for g in groups for r in g.runs]
    recorded = definitions_of(store, runs)
    out: dict[str, ColumnDefinitions] = {}
    warnings: list[str] = []
    for col in columns:
        seen: dict[str, tuple[StoredDefinition, list[int]]] = {}
        missing: list[int] = []
        for g in groups:
            for r in g.runs:
                if (col.branch, col.name, None) not in g.values.get(r.run_id, {}):
                    continue
                d = recorded.get(r.run_id, {}).get((col.branch, col.name))
                if d is None:
                    missing.append(r.run_id)
                else:
                    seen.setdefault(d.label, (d, []))[1].append(r.run_id)
        if len(seen) > 1:
            (a, ra), (b, rb) = list(seen.values())[:2]
            raise UsageError(f"column {col.label} ({col.key}) would mix values of different definitions: "
                             f"{a.label} (run {_runs(ra)}) and {b.label} (run {_runs(rb)})",
                             hint="compare runs evaluated the same way (pick them with --study or --setup), "
                                  "or evaluate the others again")
        chosen = next(iter(seen.values()))[0] if seen else None
        if chosen is not None and missing:
            warnings.append(f"column {col.label}: run {_runs(missing)} recorded no metric definition (stored "
                            f"before definitions were kept); the other runs use {chosen.label}")
        out[col.label] = ColumnDefinitions(chosen, tuple(missing))
    return out, warnings


def _runs(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:3])
    return shown + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
