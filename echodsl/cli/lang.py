"""``echodsl validate``, ``fmt`` and ``show``: the language commands (no torch import)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from echodsl.cli.common import EXIT_ERRORS, EXIT_OK, emit_json, guarded
from echodsl.lang.api import load
from echodsl.lang.api import LoadOptions
from echodsl.lang.history import describe as describe_history, history_of
from echodsl.lang.render import FORMATS, SourceCache, render_concise, render_full, render_github, report_json
from echodsl.lang.workspace import format_file, spec_files, validate_paths

EXIT_CODES = "Exit codes: 0 valid (warnings allowed unless --strict), 1 errors found, 2 usage or IO problem."
PATHS = click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))


@click.command(epilog=EXIT_CODES)
@PATHS
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="full", show_default=True,
              help="full: excerpts with carets; concise: one line each; json: machine-readable; "
                   "github: GitHub Actions annotations.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path),
              help="Directory imports may reach (default: the directory of each file or directory argument).")
@guarded
def validate(paths, output_format, as_json, strict, root):
    """Check .mem files (or every .mem file under directories) and report all problems."""
    output_format = "json" if as_json else output_format
    result = validate_paths(list(paths), root=root)
    failed = result.errors > 0 or (strict and result.warnings > 0)
    sources = SourceCache()
    if output_format == "json":
        emit_json(report_json(result.diagnostics, sources, files=[str(f) for f in result.files]) | {"valid": not failed})
    else:
        render = {"full": lambda d: render_full(d, sources) + "\n", "concise": render_concise, "github": render_github}
        for d in result.diagnostics:
            click.echo(render[output_format](d))
        if output_format != "github":
            click.echo(_summary(len(result.files), result.errors, result.warnings), err=output_format != "full")
    sys.exit(EXIT_ERRORS if failed else EXIT_OK)


def _summary(files: int, errors: int, warnings: int) -> str:
    noun = "file" if files == 1 else "files"
    if errors == 0 and warnings == 0:
        return f"All checks passed ({files} {noun})."
    return f"{files} {noun} checked: {errors} error(s), {warnings} warning(s)."


@click.command(epilog="Exit codes: 0 nothing to do or all formatted, 1 a file does not parse "
                      "or (--check) would change, 2 usage or IO problem.")
@PATHS
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if any file would change.")
@click.option("--diff", "show_diff", is_flag=True, help="Write nothing; print the changes as a unified diff.")
@guarded
def fmt(paths, check, show_diff):
    """Rewrite .mem files in the canonical layout, keeping every comment."""
    sources, status = SourceCache(), EXIT_OK
    for path, _ in spec_files(list(paths)):
        result = format_file(path, write=not (check or show_diff))
        for d in result.diagnostics:
            click.echo(render_full(d, sources) + "\n", err=True)
        if result.diagnostics:
            click.echo(f"{path}: not formatted: it does not parse", err=True)
            status = EXIT_ERRORS
        elif result.changed:
            click.echo(result.diff if show_diff else f"{'would reformat' if check else 'reformatted'} {path}")
            status = EXIT_ERRORS if check else status
    sys.exit(status)


@click.command(epilog="Exit codes: 0 shown, 1 the spec has errors, 2 usage or IO problem.")
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--profile", "profile_name", help="Show one profile, sweep member, or every member of a sweep.")
@click.option("--json", "as_json", is_flag=True, help='Print a list of {"profile", "spec_hash", "canonical", "history"}.')
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), help="Directory imports may reach.")
@guarded
def show(spec, profile_name, as_json, root):
    """Print resolved profiles (extends applied, sweeps expanded, defaults filled) and their spec_hash."""
    doc = load(spec, options=LoadOptions(root=root))
    profiles = doc.select(profile_name) if profile_name else doc.own_profiles()
    rows = [{"profile": p.name, "spec_hash": p.spec_hash, "canonical": p.canonical(),
             "history": history_of(p.canonical())} for p in profiles]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        click.echo(f"profile {row['profile']}\nspec_hash: {row['spec_hash']}\nhistory: {describe_history(row['canonical'])}")
        click.echo(json.dumps(row["canonical"], indent=2, sort_keys=True) + "\n")
