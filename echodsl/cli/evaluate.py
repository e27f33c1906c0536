"""``echodsl judge``: judge tools. ``calibrate`` compares judges (and humans) on the same
cases. (``echodsl eval`` joins this module once the branch runners exist.)"""

from __future__ import annotations

import click

from echodsl.cli.common import emit_json, guarded


@click.group()
def judge() -> None:
    """Judges of the open-domain return probe."""


@judge.command("calibrate", epilog="Exit codes: 0 success, 1 bad ratings file, 2 usage or IO failure.")
@click.argument("ratings", type=click.Path(dir_okay=False))
@click.option("--reference", default=None, help="Judge to compare against (default: the first in the file).")
@click.option("--bootstrap", default=2000, show_default=True, type=click.IntRange(min=0),
              help="Bootstrap resamples for the Spearman CI.")
@click.option("--seed", default=0, show_default=True, help="Bootstrap seed.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@guarded
def calibrate_cmd(ratings: str, reference: str | None, bootstrap: int, seed: int, as_json: bool) -> None:
    """Agreement of judges on RATINGS.csv: mean ± sd, mean |Δ| and Spearman ρ (bootstrap
    95% CI) vs a reference judge. RATINGS.csv is long (case_id,judge,score) or wide
    (case_id,<judge>,<judge>,...), one overall score 0–100 per case and judge."""
    from echodsl.eval.calibration import calibrate, read_ratings, render_table
    from echodsl.lang.render import FORMAT_VERSION

    table = calibrate(read_ratings(ratings), reference, bootstrap=bootstrap, seed=seed)
    if as_json:
        emit_json({"format_version": FORMAT_VERSION, **table.to_dict()})
    else:
        click.echo(render_table(table))
