"""Text and JSON for ``echodsl study``: the plan, the outcomes, the comparison table, and
where the study's HTML report went. Everything shown is in the
:class:`~echodsl.runner.study.StudyResult` already: nothing here reads the store."""

from __future__ import annotations

import os
import sys

import click
from tabulate import tabulate

from echodsl.cli.common import emit_json
from echodsl.jsonout import envelope
from echodsl.lang.history import describe as describe_history
from echodsl.runner.outcome import Outcome
from echodsl.runner.signals import RunInterrupted
from echodsl.runner.study import StudyResult
from echodsl.store.confounds import render_confounds
from echodsl.store.engine import redact_url


def echo_outcome(o: Outcome) -> None:
    """One line on stderr per pair, as its outcome arrives."""
    click.echo(f"[{o.status}] {o.pair.label}" + (f": {o.error}" if o.error else ""), err=True)


def leave_interrupted(exc: RunInterrupted) -> None:
    """Say how to resume, then exit ``128 + signal`` at once."""
    click.echo(f"interrupted: {exc}; running pairs were checkpointed and marked interrupted "
               "(re-run the same command to resume)", err=True)
    # Everything is recorded and the store is closed: leave now rather than wait on
    # library threads (data loading, progress bars) that a signal may have stranded.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exc.exit_code)


def show_result(result: StudyResult, as_json: bool) -> None:
    """Print what ``echodsl study`` did (or, in a dry run, would do)."""
    if result.refused:  # --strict: the confounds alone, and nothing ran
        for line in render_confounds(result.confounds):
            click.echo(line, err=True)
        return
    if as_json:
        _warn_report(result)
        emit_json({**render_result(result, as_json=True),
                   "report": None if result.report is None else str(result.report)})
        return
    click.echo(render_plan(result) if result.dry_run else render_result(result))
    if result.dry_run:  # a profile that cannot fit an 80 GB card is known before a GPU is spent
        from echodsl.cli.memory import dry_run_warnings

        for warning in dry_run_warnings(result.pairs):
            click.echo(warning, err=True)
    _warn_report(result)
    if result.report is not None:
        click.echo(f"report: {result.report}")


def render_plan(result: StudyResult) -> str:
    rows = [(p.profile, p.seed, result.status[p], p.spec_hash[:12], describe_history(p.run.profile.canonical()),
             str(p.run_dir)) for p in result.pairs]
    counts = {s: sum(1 for v in result.status.values() if v == s) for s in ("done", "resume", "new")}
    head = f"{len(result.pairs)} runs: {counts['done']} done, {counts['resume']} to resume, {counts['new']} new"
    text = head + f" (store: {redact_url(result.store)})\n" + tabulate(
        rows, headers=["profile", "seed", "status", "spec_hash", "history", "run directory"])
    return text + "".join(f"\n{w}" for w in render_confounds(result.confounds))


def render_result(result: StudyResult, as_json: bool = False):
    from echodsl.store.export import definitions_legend, render
    from echodsl.store.paired import legend

    study = result.pairs[0].study if result.pairs else None
    table = result.comparison
    if as_json:
        return envelope({"store": redact_url(result.store),
                         "runs": [{"profile": p.profile, "seed": p.seed, "status": result.status.get(p),
                                   "run_dir": str(p.run_dir)} for p in result.pairs],
                         "failed": [{"profile": o.pair.profile, "seed": o.pair.seed, "error": o.error}
                                    for o in result.failed],
                         "comparison": None if table is None else table.document,
                         "confounds": [c.to_json() for c in result.confounds]})
    lines = [f"{sum(o.status == s for o in result.outcomes)} {s}" for s in ("finished", "skipped", "failed")]
    busy = sum(o.status == "busy" for o in result.outcomes)
    if busy:
        lines.append(f"{busy} being trained by another process")
    text = f"study {study}: " + ", ".join(lines) + f" (store: {redact_url(result.store)})\n"
    if table is None:
        return text + "".join(f"{w}\n" for w in render_confounds(result.confounds))
    text += "\n" + render(table, "text")
    text += legend(table.document["baseline"]) if "baseline" in table.document else ""
    text += "".join(f"warning: {w}\n" for w in table.document["warnings"])
    text += definitions_legend(table)
    return text + "".join(f"{w}\n" for w in render_confounds(result.confounds))


def _warn_report(result: StudyResult) -> None:
    """The study's report failed to write: say so, and how to write it again."""
    if result.report_error is None:
        return
    click.secho(f"warning: the study's report was not written: {result.report_error}", fg="yellow", err=True)
    click.echo(f"  hint: echodsl report --store {redact_url(result.store)} --study {result.pairs[0].study} --out DIR",
               err=True)
