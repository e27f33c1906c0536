"""``results show RUN``: everything the store knows about one run, as text or JSON."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tabulate import tabulate

from echodsl.jsonout import envelope
from echodsl.store.compare import flatten_spec, show_value
from echodsl.store.export import run_record
from echodsl.store.store import Store


def run_details(store: Store, run_id: int) -> dict[str, Any]:
    """One JSON-ready document: the run, its design, metrics, cases and artifacts."""
    run = store.run(run_id)
    spec = store.spec(run.identity.spec_hash)
    latest = store.latest_metrics([run_id])
    return envelope({
        "run": {**run_record(run), "versions": run.provenance.versions},
        "spec": {"profile": spec.profile, "canonical": spec.canonical, "source_text": spec.source_text},
        "metrics": [{"branch": m.branch, "name": m.name, "chunk": m.chunk, "step": m.step,
                     "value": None if m.is_nan else m.value} for m in latest],
        "cases": [{"branch": c.branch, "case_id": c.case_id, "judge": c.judge, "judge_version": c.judge_version,
                   "status": c.status, "scores": c.scores, "overall": c.overall, "error": c.error,
                   "raw_response": c.raw_response} for c in store.cases(run_id)],
        "artifacts": [{"kind": a.kind, "path": a.path, "sha256": a.sha256, "size_bytes": a.size_bytes}
                      for a in store.artifacts(run_id)],
    })


def render_details(d: dict[str, Any]) -> str:
    run = d["run"]
    lines = [f"run {run['run_id']}  {run['profile']}  (study {run['study']}, seed {run['seed']})  {run['status']}"]
    fields = [("spec_hash", run["spec_hash"]), ("setup_hash", run["setup_hash"]), ("build_hash", run["build_hash"]),
              ("started", _time(run["started_ms"])), ("heartbeat", _time(run["heartbeat_ms"])),
              ("ended", _time(run["ended_ms"])),
              ("git", f"{run['git_commit'] or '–'}{' (dirty)' if run['git_dirty'] else ''}"),
              ("device", run["device"]), ("host", run["host"]), ("compile", run["compile_mode"] or "–"),
              ("steps", run["steps"]), ("step_time_s", run["step_time_s"]), ("device_hours", run["device_hours"]),
              ("versions", ", ".join(f"{k} {v}" for k, v in sorted(run["versions"].items()) if v))]
    if run["error"]:
        fields.append(("error", run["error"]))
    lines += [f"  {k:<13} {'–' if v is None else v}" for k, v in fields]
    design = flatten_spec(d["spec"]["canonical"])
    lines += ["", "design:", *(f"  {k} = {show_value(v)}" for k, v in design.items())]
    run_level = [m for m in d["metrics"] if m["chunk"] is None]
    if run_level:
        rows = [[m["branch"], m["name"], "n/a" if m["value"] is None else f"{m['value']:.4f}",
                 "" if m["step"] is None else m["step"]] for m in run_level]
        lines += ["", tabulate(rows, ["branch", "metric", "value", "step"], tablefmt="simple", disable_numparse=True)]
    chunked = [m for m in d["metrics"] if m["chunk"] is not None]
    if chunked:
        lines.append(f"\n{len(chunked)} per-chunk values (see --json)")
    if d["cases"]:
        ok = [c for c in d["cases"] if c["status"] == "ok"]
        overall = [c["overall"] for c in ok if c["overall"] is not None]
        mean = f", mean overall {sum(overall) / len(overall):.2f}" if overall else ""
        lines.append(f"\ncases: {len(d['cases'])} ({len(ok)} ok, {len(d['cases']) - len(ok)} failed{mean})")
    for a in d["artifacts"]:
        lines.append(f"artifact {a['kind']}: {a['path']} sha256:{a['sha256'][:16]} ({a['size_bytes']} bytes)")
    return "\n".join(lines) + "\n"


def _time(ms: int | None) -> str | None:
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
