"""``echodsl results``: list, show, compare, export and plot what the results store holds.

The store is ``--store URL|PATH`` (a SQLite file path or a SQLAlchemy URL), else
``$ECHODSL_STORE``, else ``echodsl.db`` in the current directory. These commands only
read: a store file that does not exist is an error, never created.
"""

from __future__ import annotations

import click

from echodsl.cli.common import emit_json, guarded, open_store, require_names
from echodsl.errors import StoreError, UsageError
from echodsl.jsonout import envelope

FORMATS = ("text", "md", "latex", "csv", "json")
EPILOG_EXIT = ("Exit codes: 0 success, 1 confounded designs under --strict (compare), 2 usage problem, "
               "or a store that is missing, unreadable or too new.")


def _store_options(fn):
    """--store (all commands) and --json (an alias of --format json where there is one)."""
    fn = click.option("--json", "as_json", is_flag=True, help="Print one JSON object (format_version first).")(fn)
    return click.option("--store", "store_url", envvar="ECHODSL_STORE", default="echodsl.db", show_default=True,
                        metavar="URL|PATH", help="Results store: SQLite file or SQLAlchemy URL [env ECHODSL_STORE].")(fn)


def _open(store_url: str):
    return open_store(store_url)


def _echo(text: str) -> None:
    click.echo(text, nl=False)


@click.group(epilog=EPILOG_EXIT)
def results() -> None:
    """Query and compare the runs recorded in a results store."""


@results.command("list", epilog=EPILOG_EXIT)
@click.option("--study", help="Only runs of this study.")
@click.option("--status", type=click.Choice(["running", "finished", "failed", "interrupted"]))
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="text", show_default=True)
@_store_options
@guarded
def list_cmd(study, status, output_format, store_url, as_json) -> None:
    """List runs (a running run without a recent heartbeat shows as interrupted)."""
    from echodsl.store.export import render, runs_table
    with _open(store_url) as store:
        require_names(store, study=study)
        _echo(render(runs_table(store, study=study, status=status), "json" if as_json else output_format))


@results.command("show", epilog=EPILOG_EXIT)
@click.argument("run_id", metavar="RUN", type=int)
@_store_options
@guarded
def show(run_id, store_url, as_json) -> None:
    """Show one run: identity, provenance, design, metrics, cases and artifacts."""
    from echodsl.store.show import render_details, run_details
    with _open(store_url) as store:
        _require_run(store, run_id)
        details = run_details(store, run_id)
    if as_json:
        emit_json(details)
    else:
        _echo(render_details(details))


def _selection(fn):
    fn = click.option("--setup", metavar="HASH", help="Only runs of this setup (a setup_hash prefix).")(fn)
    return click.option("--study", help="Only runs of this study.")(fn)


@results.command("compare", epilog=EPILOG_EXIT)
@_selection
@click.option("--by", metavar="FIELD", help="Sort and label rows by a spec field, e.g. storage.k or storage.")
@click.option("--design", is_flag=True, help="Add a column with every spec field of each design.")
@click.option("--only-changed", is_flag=True, help="Add a design column with only the fields that differ.")
@click.option("--baseline", metavar="PROFILE", help="Add paired differences to this design (per probe and seed); "
              "`auto`: the anchor-only design.")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--strict", is_flag=True, help="Exit 1 when the designs differ in anything but the memory "
              "representation (history, action, placement, recipe).")
@_store_options
@guarded
def compare(study, setup, by, design, only_changed, baseline, output_format, strict, store_url, as_json) -> None:
    """Table 1: one row per design, mean ± 95% CI over seeds; n/a where unmeasured.

    With --baseline, each design's difference to the baseline is taken case by case on the
    shared probes: ΔX = mean of (design − baseline) over (seed, probe) pairs ± its paired
    95% t-interval, and (k/n) = pairs where the design did better."""
    from echodsl.store.compare import compare as build
    from echodsl.store.confounds import group_confounds, render_confounds
    from echodsl.store.export import comparison_table, render
    with _open(store_url) as store:
        require_names(store, study=study, setup=setup)
        comparison = build(store, study=study, setup=setup, by=by, design=design, only_changed=only_changed,
                           baseline=baseline)
    table = comparison_table(comparison)
    confounds = group_confounds(comparison.groups)
    table.document["confounds"] = [c.to_json() for c in confounds]
    text = render(table, "json" if as_json else output_format)
    if "baseline" in table.document and not as_json and output_format in ("text", "md"):
        from echodsl.store.paired import legend
        text += legend(table.document["baseline"])
    if not as_json and output_format in ("text", "md"):
        from echodsl.store.export import definitions_legend
        text += definitions_legend(table)
    if not as_json:
        for warning in table.document["warnings"]:
            click.echo(f"warning: {warning}", err=True)
    _echo(text)
    if not (as_json or output_format == "json"):  # JSON carries them in "confounds"
        for line in render_confounds(confounds):
            click.echo(line, err=True)
    if strict and confounds:
        raise SystemExit(1)


@results.command("export", epilog=EPILOG_EXIT)
@click.option("--study", help="Only runs of this study.")
@click.option("--status", type=click.Choice(["running", "finished", "failed", "interrupted"]))
@click.option("--format", "output_format", type=click.Choice(FORMATS[1:]), required=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Write here, not stdout.")
@_store_options
@guarded
def export(study, status, output_format, output, store_url, as_json) -> None:
    """Export one row per run (identity, provenance, timings, every run-level metric)."""
    from echodsl.store.export import render, runs_table
    with _open(store_url) as store:
        require_names(store, study=study)
        text = render(runs_table(store, study=study, status=status), "json" if as_json else output_format)
    if output is None:
        _echo(text)
    else:
        _write(output, text)


@results.command("plot", epilog=EPILOG_EXIT)
@click.argument("kinds", nargs=-1, type=click.Choice(["scaling", "tradeoff", "drift"]))
@_selection
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="plots", show_default=True)
@click.option("--by", default="storage.k", show_default=True, help="The x axis of the scaling plot.")
@click.option("--metric", "metrics", multiple=True, help="Scaling plot panels (Table 1 labels or branch/name).")
@_store_options
@guarded
def plot(kinds, study, setup, out_dir, by, metrics, store_url, as_json) -> None:
    """Write PNGs: scaling (metric vs K), tradeoff (PSNR vs device-hours/step), drift."""
    from echodsl.store.plots import DEFAULT_SCALING, KINDS, plot as draw
    with _open(store_url) as store:
        require_names(store, study=study, setup=setup)
        paths = draw(store, kinds or KINDS, out_dir, study=study, setup=setup, by=by,
                     metrics=metrics or DEFAULT_SCALING)
    if as_json:
        emit_json(envelope(files=[str(p) for p in paths]))
    else:
        _echo("".join(f"wrote {p}\n" for p in paths))


def _require_run(store, run_id: int) -> None:
    ids = [r.run_id for r in store.runs()]
    if run_id not in ids:
        held = f"runs in this store: {ids[0]}..{ids[-1]}" if ids else "the store holds no runs yet"
        raise UsageError(f"no run {run_id} in {store.url}", hint=held)


def _write(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    except OSError as exc:
        raise StoreError(f"{path}: cannot write ({exc.strerror})") from None
