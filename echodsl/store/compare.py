"""``results compare``: one row per design, the paper's Table 1 columns, mean ± CI over seeds.

Rows are designs (one spec_hash; every profile name it ran under is shown). Each cell
is the mean over seeds of the run-level value (``chunk`` NULL) with its 95 % t-interval;
with one seed just the mean, with none ``n/a``. Of several finished runs of one design and
seed, the newest counts. Runs of different setups are never mixed: pick one with
``setup`` (a hash prefix) or ``study``.

Spec fields are dot paths into the canonical spec: ``storage`` is the storage variant,
``storage.k`` its argument ``k``, ``storage.select.samples`` an argument of a nested
variant.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from echodsl.errors import UsageError
from echodsl.lang.fields import CLAUSES, flatten_spec, spec_field
from echodsl.store.columns import COMPARE, Column
from echodsl.store.groups import Group
from echodsl.store.records import Run, run_from_sql
from echodsl.store.schema import RUN_LEVEL, SqlLatestMetric, SqlRun
from echodsl.store.store import Store

@dataclass(frozen=True)
class Comparison:
    study: str | None
    setup_hash: str | None
    columns: tuple[Column, ...]
    groups: tuple[Group, ...]
    by: str | None = None
    design_fields: tuple[str, ...] = ()  # the fields shown in the "design" column
    baseline: str | None = None  # label of the design the paired columns compare against
    # spec_hash -> column label -> paired difference to the baseline (see store.paired)
    paired: dict[str, dict[str, Any]] = field(default_factory=dict)
    # column label -> the metric definition its values share (see store.definitions)
    definitions: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def by_value(self, group: Group) -> Any:
        return spec_field(group.canonical, self.by) if self.by else None

    def design(self, group: Group) -> str:
        """The design fields this group has, as ``path=value`` words."""
        flat = flatten_spec(group.canonical)
        return " ".join(f"{f}={show_value(flat[f])}" for f in self.design_fields if f in flat)


def collect(store: Store, *, study: str | None = None, setup: str | None = None) -> tuple[str | None, list[Group]]:
    """The setup hash and the groups of finished runs of one setup, in first-run order."""
    runs, values = _finished(store, study, setup)
    setups = sorted({r.identity.setup_hash for r in runs})
    if len(setups) > 1:
        known = store.setups()
        listing = ", ".join(f"{h[:12]} ({known[h].study if h in known else '?'})" for h in setups)
        raise UsageError(f"the finished runs come from {len(setups)} different setups: {listing}",
                         hint="pick one with --setup HASH or --study NAME")
    newest: dict[tuple[str, int], Run] = {}
    for r in runs:  # in run_id order, so a later run replaces an earlier one
        newest[(r.identity.spec_hash, r.identity.seed)] = r
    chosen = sorted(newest.values(), key=lambda r: r.run_id)
    specs = store.specs()
    by_spec: dict[str, list[Run]] = {}
    for r in chosen:
        by_spec.setdefault(r.identity.spec_hash, []).append(r)
    groups = []
    for spec_hash, group_runs in by_spec.items():
        names = tuple(dict.fromkeys(r.profile for r in group_runs))
        group_runs.sort(key=lambda r: r.identity.seed)
        groups.append(Group(spec_hash, names, specs[spec_hash].canonical, tuple(group_runs),
                            {r.run_id: values.get(r.run_id, {}) for r in group_runs}))
    return (setups[0] if setups else None), groups


def _finished(store: Store, study: str | None, setup: str | None
              ) -> tuple[list[Run], dict[int, dict[tuple[str, str, int | None], float]]]:
    """The finished runs (in run_id order) and every current metric value of each.

    Two plain queries in one read transaction, the metrics joined to the same run filter
    rather than listed by id, so the cost stays linear in the runs whatever their number.
    ("finished" is a stored status: only a running run reads differently when stale.)
    """
    where = [SqlRun.status == "finished"]
    if study is not None:
        where.append(SqlRun.study == study)
    if setup is not None:
        where.append(SqlRun.setup_hash.startswith(setup, autoescape=True))
    run_query = select(SqlRun.__table__).where(*where).order_by(SqlRun.run_id)
    m = SqlLatestMetric.__table__.c
    metric_query = (select(m.run_id, m.branch, m.key, m.chunk, m.value, m.is_nan)
                    .join_from(SqlLatestMetric.__table__, SqlRun.__table__, m.run_id == SqlRun.run_id)
                    .where(*where))
    values: dict[int, dict[tuple[str, str, int | None], float]] = {}
    with store._read() as s:  # noqa: SLF001 - the query layer of the store's own package
        conn = s.connection()  # plain rows: no ORM objects for thousands of values
        stale = store._stale_before()  # noqa: SLF001
        runs = [run_from_sql(row, stale) for row in conn.execute(run_query)]
        for run_id, branch, key, chunk, value, is_nan in conn.execute(metric_query):
            values.setdefault(run_id, {})[(branch, key, None if chunk == RUN_LEVEL else chunk)] = (
                math.nan if is_nan else value)
    return runs, values


def compare(store: Store, *, study: str | None = None, setup: str | None = None, by: str | None = None,
            design: bool = False, only_changed: bool = False, columns: Sequence[Column] = COMPARE,
            baseline: str | None = None) -> Comparison:
    """Build the comparison table (see the module docstring). ``design`` adds every spec
    field of each row; ``only_changed`` only those of :func:`changed_fields`; ``baseline``
    (a profile name or spec_hash prefix, or ``auto``: the anchor-only design, if the runs
    have one) adds paired differences to that design."""
    setup_hash, groups = collect(store, study=study, setup=setup)
    definitions, warnings = _definitions(store, groups, columns)
    pairs: dict[str, dict[str, Any]] = {}
    base_label = None
    if baseline is not None:
        from echodsl.store.paired import PAIRED_COLUMNS, baseline_group, paired

        base = baseline_group(groups, baseline)
        if base is not None:
            base_label = base.label
            pairs = paired(store, groups, base, tuple(c for c in columns if c.label in PAIRED_COLUMNS))
    if by is not None:
        check_field(by, [g.canonical for g in groups])
        groups.sort(key=lambda g: _sort_key(spec_field(g.canonical, by)))  # stable: ties keep run order
    fields: tuple[str, ...] = ()
    if design or only_changed:
        flats = [flatten_spec(g.canonical) for g in groups]
        names = [f for f in dict.fromkeys(f for flat in flats for f in flat) if f != by]
        fields = tuple(changed_fields(flats, names) if only_changed else names)
    return Comparison(study, setup_hash, tuple(columns), tuple(groups), by, fields, base_label, pairs,
                      definitions, tuple(warnings))


def _definitions(store: Store, groups: list[Group], columns: Sequence[Column]):
    """Each column's one metric definition; refuses a column that would mix two."""
    from echodsl.store.definitions import check_columns

    return check_columns(store, groups, columns)


def changed_fields(flats: list[dict[str, Any]], names: list[str]) -> list[str]:
    """The fields that tell the designs apart: a clause whose variant differs (a missing
    clause counts as different), or an argument on which the designs that have it
    disagree. An argument only some designs have is implied by its clause's variant."""
    out = []
    for f in names:
        if "." in f:
            values = {show_value(flat[f]) for flat in flats if f in flat}
        else:
            values = {show_value(flat.get(f)) for flat in flats}
        if len(values) > 1:
            out.append(f)
    return out


# --- spec fields ---------------------------------------------------------------------------

def check_field(path: str, canonicals: list[dict[str, Any]]) -> None:
    if path.split(".")[0] not in CLAUSES:
        raise UsageError(f"unknown spec field {path!r}",
                         hint=f"a dot path starting with a clause ({', '.join(CLAUSES)}), e.g. storage.k")
    if canonicals and all(path not in flatten_spec(c) for c in canonicals):
        raise UsageError(f"no compared design has the spec field {path!r}")


def show_value(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, tuple):
        return "x".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    return str(value)


def _sort_key(value: Any) -> tuple:
    if value is None:
        return (2, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    return (1, show_value(value))


