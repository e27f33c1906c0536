"""Text and JSON for ``echodsl study``: the plan, the outcomes, the comparison table, and
where the study's HTML report went."""

from __future__ import annotations

from pathlib import Path

import click
from tabulate import tabulate

from echodsl.jsonout import envelope
from echodsl.lang.history import describe as describe_history
from echodsl.runner.study import StudyResult
from echodsl.store.confounds import design_confounds, render_confounds
from echodsl.store.engine import redact_url, resolve_url


def render_plan(result: StudyResult) -> str:
    rows = [(p.profile, p.seed, result.status[p], p.spec_hash[:12], describe_history(p.run.profile.canonical()),
             str(p.run_dir)) for p in result.pairs]
    counts = {s: sum(1 for v in result.status.values() if v == s) for s in ("done", "resume", "new")}
    head = f"{len(result.pairs)} runs: {counts['done']} done, {counts['resume']} to resume, {counts['new']} new"
    text = head + f" (store: {redact_url(result.store)})\n" + tabulate(
        rows, headers=["profile", "seed", "status", "spec_hash", "history", "run directory"])
    return text + "".join(f"\n{w}" for w in render_confounds(study_confounds(result)))


def study_confounds(result: StudyResult):
    """What, besides the memory representation, differs between the study's designs."""
    return design_confounds({p.profile: p.run.profile.canonical() for p in result.pairs})


def render_result(result: StudyResult, as_json: bool = False):
    from echodsl.store import Store
    from echodsl.store.compare import compare
    from echodsl.store.export import comparison_table, definitions_legend, render
    from echodsl.store.paired import AUTO, legend

    study = result.pairs[0].study if result.pairs else None
    table = None
    if any(o.status != "failed" for o in result.outcomes) and not _store_gone(result):
        with Store.open(result.store, create=False) as store:
            # Paired differences to the anchor-only design, when the study has one: with few
            # seeds the interval over seed means separates nothing; probe-level pairing can.
            table = comparison_table(compare(store, study=study, setup=result.pairs[0].setup_hash, baseline=AUTO))
    if as_json:
        return envelope({"store": redact_url(result.store),
                         "runs": [{"profile": p.profile, "seed": p.seed, "status": result.status.get(p),
                                   "run_dir": str(p.run_dir)} for p in result.pairs],
                         "failed": [{"profile": o.pair.profile, "seed": o.pair.seed, "error": o.error}
                                    for o in result.failed],
                         "comparison": None if table is None else table.document,
                         "confounds": [c.to_json() for c in study_confounds(result)]})
    lines = [f"{sum(o.status == s for o in result.outcomes)} {s}" for s in ("finished", "skipped", "failed")]
    busy = sum(o.status == "busy" for o in result.outcomes)
    if busy:
        lines.append(f"{busy} being trained by another process")
    text = f"study {study}: " + ", ".join(lines) + f" (store: {redact_url(result.store)})\n"
    if table is None:
        return text + "".join(f"{w}\n" for w in render_confounds(study_confounds(result)))
    text += "\n" + render(table, "text")
    text += legend(table.document["baseline"]) if "baseline" in table.document else ""
    text += "".join(f"warning: {w}\n" for w in table.document["warnings"])
    text += definitions_legend(table)
    return text + "".join(f"{w}\n" for w in render_confounds(study_confounds(result)))


def _store_gone(result: StudyResult) -> bool:
    """A pair gave up on the store (unreachable past the retry window): do not ask it again."""
    return any(o.store_unreachable for o in result.outcomes)


def report_dir(result: StudyResult) -> Path:
    """``<store dir>/report/<study>`` for a SQLite store, else beside the spec."""
    url = resolve_url(result.store)
    base = Path(url.removeprefix("sqlite:///")).parent if url.startswith("sqlite:///") else result.pairs[0].spec.parent
    return base / "report" / result.pairs[0].study


def write_study_report(result: StudyResult) -> Path | None:
    """The study's HTML report, written after its runs; a failure here only warns (the
    results are in the store already, and ``echodsl report`` can write it again)."""
    if not result.pairs or not any(o.status != "failed" for o in result.outcomes) or _store_gone(result):
        return None
    try:
        from echodsl.report.page import write_report
        from echodsl.store import Store

        with Store.open(result.store, create=False) as store:
            return write_report(store, result.pairs[0].study, report_dir(result), setup=result.pairs[0].setup_hash)
    except Exception as exc:  # noqa: BLE001 - never lose a finished study over its report
        click.secho(f"warning: the study's report was not written: {type(exc).__name__}: {exc}", fg="yellow", err=True)
        click.echo(f"  hint: echodsl report --store {redact_url(result.store)} --study {result.pairs[0].study} --out DIR", err=True)
        return None
