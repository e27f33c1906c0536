"""``echodsl report``: one self-contained HTML page for a study (table, figures, frames)."""

from __future__ import annotations

from pathlib import Path

import click

from echodsl.cli.common import emit_json, guarded, open_store, require_names
from echodsl.jsonout import envelope


@click.command(epilog="Exit codes: 0 report written, 2 usage problem (unknown study, missing or unreadable "
                      "store, unwritable output).")
@click.option("--store", "store_url", envvar="ECHODSL_STORE", default="echodsl.db", show_default=True,
              metavar="URL|PATH", help="Results store: SQLite file or SQLAlchemy URL [env ECHODSL_STORE].")
@click.option("--study", required=True, help="The study to report.")
@click.option("--setup", metavar="HASH", help="Only runs of this setup (a setup_hash prefix), if the study has several.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for index.html (created if missing).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the page's path.")
@guarded
def report(store_url, study, setup, out_dir, as_json) -> None:
    """One self-contained HTML page for a study: DIR/index.html.

    It holds the comparison table with per-branch ranks and each design's spec, the
    figures, a filmstrip and animated rollouts per return probe, the judge's cases, write
    vs read-out capacity, and provenance, time and cost per run. Images are embedded;
    the page fetches nothing and runs no script."""
    from echodsl.report.page import write_report

    with open_store(store_url) as store:
        require_names(store, study=study, setup=setup)
        page = write_report(store, study, out_dir, setup=setup)
    if as_json:
        emit_json(envelope(study=study, report=str(page)))
    else:
        click.echo(f"wrote {page}")
