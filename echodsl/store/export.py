"""Rendering result tables as text, Markdown, LaTeX, CSV or JSON.

A :class:`Table` keeps two views of the same rows: display cells (``12.54 ± 0.31``, ``n/a``)
for the text, Markdown and LaTeX formats, and typed records (means, interval ends and
counts in separate fields, empty where unavailable) for CSV and JSON, so no consumer
has to parse "±" back out. Every JSON document starts with ``format_version``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from tabulate import tabulate

from echodsl import jsonout
from echodsl.store.columns import TABLE1, column
from echodsl.store.compare import Comparison, show_value
from echodsl.store.records import Run
from echodsl.store.store import Store

FORMATS = ("text", "md", "latex", "csv", "json")


@dataclass(frozen=True)
class Table:
    kind: str  # "compare" | "runs"
    headers: list[str]
    cells: list[list[str]]
    records: list[dict[str, Any]]  # one flat dict per row, for CSV
    document: dict[str, Any] = field(default_factory=dict)  # the JSON body after format_version


def comparison_table(c: Comparison) -> Table:
    paired_labels = list(next(iter(c.paired.values()))) if c.paired else []
    headers = ["profile", *([c.by] if c.by else []), *(["design"] if c.design_fields else []), "seeds",
               *(col.label for col in c.columns), *(f"Δ{label} (improved)" for label in paired_labels)]
    cells, records, rows = [], [], []
    defined = {label: d.definition.label for label, d in c.definitions.items() if d.definition is not None}
    for g in c.groups:
        stats = {col.label: g.stat(col.branch, col.name) for col in c.columns}
        diffs = c.paired.get(g.spec_hash, {})
        lead = [g.label, *([show_value(c.by_value(g))] if c.by else []),
                *([c.design(g)] if c.design_fields else [])]
        cells.append([*lead, str(len(g.runs)), *(stats[col.label].text(col.digits) for col in c.columns),
                      *(diffs[label].text() if label in diffs else "n/a" for label in paired_labels)])
        record: dict[str, Any] = {"profile": g.label, "spec_hash": g.spec_hash}
        if c.by:
            record[c.by] = c.by_value(g)
        if c.design_fields:
            record["design"] = c.design(g)
        record["seeds"] = " ".join(str(s) for s in g.seeds)
        for label, s in stats.items():
            record.update({label: s.mean, f"{label}_low": s.low, f"{label}_high": s.high, f"{label}_n": s.n})
            if label in defined:
                record[f"{label}_definition"] = defined[label]
        for label, d in diffs.items():
            record.update({f"d{label}": d.diff.mean, f"d{label}_low": d.diff.low, f"d{label}_high": d.diff.high,
                           f"d{label}_improved": d.improved, f"d{label}_pairs": d.pairs})
        records.append(record)
        row = {"profile": g.label, "names": list(g.names), "spec_hash": g.spec_hash, "seeds": list(g.seeds),
               "by_value": c.by_value(g) if c.by else None, "design": c.design(g) if c.design_fields else None,
               "metrics": {label: s.to_json() for label, s in stats.items()}}
        if c.baseline is not None:
            row["paired"] = {label: d.to_json() for label, d in diffs.items()}
        rows.append(row)
    document = {"study": c.study, "setup_hash": c.setup_hash, "by": c.by, "confidence": 0.95,
                **({"baseline": c.baseline} if c.baseline is not None else {}),
                "columns": [{"label": col.label, "branch": col.branch, "name": col.name,
                             "higher_is_better": col.higher_is_better,
                             "definition": _definition_json(c.definitions.get(col.label))} for col in c.columns],
                "rows": rows, "warnings": list(c.warnings)}
    return Table("compare", headers, cells, records, document)


def _definition_json(column_definitions) -> dict[str, Any] | None:
    d = column_definitions.definition if column_definitions is not None else None
    return d.to_json() if d is not None else None


def definitions_legend(table: Table) -> str:
    """``metric definitions: R-P psnr/v1 at 32x32, ...`` under a text or Markdown compare
    table; empty where no column has a recorded definition."""
    shown = []
    for col in table.document.get("columns", []):
        d = col.get("definition")
        if d:
            shown.append(f"{col['label']} {d['definition']}" + (f" at {d['resolution']}" if d["resolution"] else ""))
    return f"\nmetric definitions: {', '.join(shown)} (full text: --format json)\n" if shown else ""


def runs_table(store: Store, *, study: str | None = None, status: str | None = None) -> Table:
    """One row per run: identity, status, provenance, timings, every run-level metric and
    the definition each metric was computed under."""
    from echodsl.store.definitions import definitions_of

    runs = store.runs(study=study, status=status)
    defined = definitions_of(store, [r.run_id for r in runs])
    values: dict[int, dict[str, float]] = {}
    for m in store.latest_metrics([r.run_id for r in runs]):
        if m.chunk is None:
            values.setdefault(m.run_id, {})[f"{m.branch}/{m.name}"] = m.value
    table1 = [c.key for c in TABLE1]
    seen = {k for v in values.values() for k in v}
    keys = [k for k in table1 if k in seen] + sorted(seen - set(table1))
    # CSV gets a definition column per metric that any run recorded one for
    recorded = {f"{b}/{n}" for per_run in defined.values() for b, n in per_run}
    defined_keys = [k for k in keys if k in recorded]
    headers = ["run", "profile", "study", "seed", "status", "spec", "setup", "git", "device", "steps",
               "device_h", *keys]
    cells, records, docs = [], [], []
    for r in runs:
        metric = values.get(r.run_id, {})
        definitions = {f"{b}/{n}": d for (b, n), d in defined.get(r.run_id, {}).items() if f"{b}/{n}" in metric}
        cells.append([str(r.run_id), r.profile, r.study, str(r.identity.seed), r.status, r.identity.spec_hash[:12],
                      r.identity.setup_hash[:12], _git(r), r.provenance.device, _num(r.steps),
                      _num(r.device_hours, 4), *(_metric_text(k, metric.get(k)) for k in keys)])
        record = run_record(r)
        records.append({**record, **{k: _clean(metric.get(k)) for k in keys},
                        **{f"{k}_definition": definitions[k].label if k in definitions else None
                           for k in defined_keys}})
        docs.append({**record, "versions": r.provenance.versions,
                     "metrics": {k: _clean(metric.get(k)) for k in keys if k in metric},
                     "definitions": {k: d.to_json() for k, d in sorted(definitions.items())}})
    return Table("runs", headers, cells, records, {"study": study, "status": status, "runs": docs})


def run_record(r: Run) -> dict[str, Any]:
    p, i = r.provenance, r.identity
    return {"run_id": r.run_id, "profile": r.profile, "study": r.study, "seed": i.seed, "status": r.status,
            "spec_hash": i.spec_hash, "setup_hash": i.setup_hash, "build_hash": i.build_hash,
            "started_ms": r.started_ms, "heartbeat_ms": r.heartbeat_ms, "ended_ms": r.ended_ms,
            "git_commit": p.git_commit, "git_dirty": p.git_dirty, "device": p.device, "host": p.host,
            "compile_mode": r.compile_mode, "steps": r.steps, "step_time_s": r.step_time_s,
            "device_hours": r.device_hours, "error": r.error}


def render(table: Table, fmt: str) -> str:
    """The table in one of :data:`FORMATS`, ending in a newline."""
    if fmt == "json":
        doc = jsonout.envelope({"kind": table.kind, **table.document})
        return jsonout.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(table.records[0]) if table.records else table.headers,
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in rec.items()} for rec in table.records)
        return out.getvalue()
    if fmt == "md":
        cells = [[c.replace("|", "\\|") for c in row] for row in table.cells]
        return tabulate(cells, table.headers, tablefmt="github", disable_numparse=True) + "\n"
    if fmt == "latex":
        return _latex(table)
    if fmt == "text":
        return tabulate(table.cells, table.headers, tablefmt="simple", disable_numparse=True) + "\n"
    raise ValueError(f"unknown format {fmt!r}")


_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _latex_cell(text: str) -> str:
    escaped = "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)
    return escaped.replace(" ± ", r" $\pm$ ").replace("–", "--")


def _latex(table: Table) -> str:
    lead = 1 + sum(h in ("design",) for h in table.headers)
    spec = "l" * lead + "r" * (len(table.headers) - lead)
    lines = [rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
             " & ".join(_latex_cell(h) for h in table.headers) + r" \\", r"\midrule"]
    lines += [" & ".join(_latex_cell(c) for c in row) + r" \\" for row in table.cells]
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def _git(r: Run) -> str:
    commit = r.provenance.git_commit
    if commit is None:
        return "–"
    return commit[:12] + ("+dirty" if r.provenance.git_dirty else "")


def _num(value: float | None, digits: int | None = None) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}" if digits is not None else str(value)


def _metric_text(key: str, value: float | None) -> str:
    if value is None or value != value:
        return "n/a"
    return f"{value:.{column(key).digits}f}"


def _clean(value: float | None) -> float | None:
    return None if value is None or value != value else value
