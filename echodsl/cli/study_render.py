"""Text and JSON for ``echodsl study``: the plan, the outcomes, and the comparison table."""

from __future__ import annotations

from tabulate import tabulate

from echodsl.runner.study import StudyResult
from echodsl.store.engine import redact_url


def render_plan(result: StudyResult) -> str:
    rows = [(p.profile, p.seed, result.status[p], p.spec_hash[:12], str(p.run_dir)) for p in result.pairs]
    counts = {s: sum(1 for v in result.status.values() if v == s) for s in ("done", "resume", "new")}
    head = f"{len(result.pairs)} runs: {counts['done']} done, {counts['resume']} to resume, {counts['new']} new"
    return head + f" (store: {redact_url(result.store)})\n" + tabulate(rows, headers=["profile", "seed", "status", "spec_hash",
                                                                          "run directory"])


def render_result(result: StudyResult, as_json: bool = False):
    from echodsl.store import Store
    from echodsl.store.compare import compare
    from echodsl.store.export import comparison_table, render

    study = result.pairs[0].study if result.pairs else None
    table = None
    if any(o.status != "failed" for o in result.outcomes):
        with Store.open(result.store, create=False) as store:
            table = comparison_table(compare(store, study=study, setup=result.pairs[0].setup_hash))
    if as_json:
        return {"format_version": "1.0", "store": redact_url(result.store),
                "runs": [{"profile": p.profile, "seed": p.seed, "status": result.status.get(p),
                          "run_dir": str(p.run_dir)} for p in result.pairs],
                "failed": [{"profile": o.pair.profile, "seed": o.pair.seed, "error": o.error} for o in result.failed],
                "comparison": None if table is None else table.document}
    lines = [f"{sum(o.status == s for o in result.outcomes)} {s}" for s in ("finished", "skipped", "failed")]
    busy = sum(o.status == "busy" for o in result.outcomes)
    if busy:
        lines.append(f"{busy} being trained by another process")
    text = f"study {study}: " + ", ".join(lines) + f" (store: {redact_url(result.store)})\n"
    return text + ("\n" + render(table, "text") if table is not None else "")
