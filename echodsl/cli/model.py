"""``echodsl compile`` and ``echodsl explain``: a profile lowered onto the Wan DiT."""

from __future__ import annotations

import difflib
import json
import sys

import click

# The torch-free mirror of the backbone presets (a compiler test keeps the names equal), so
# that `echodsl compile --help` and argument checking import no torch.
from echodsl.presets import PRESETS

_PRESET = click.Choice(sorted(PRESETS))


def _profile(spec: str, name: str, as_json: bool):
    """The named profile of ``spec``, or exit 1 (spec errors) / 2 (unknown profile)."""
    import echodsl

    try:
        doc = echodsl.load(spec)
    except echodsl.SpecError as exc:
        _fail(str(exc), 1, as_json)
    except OSError as exc:
        _fail(f"cannot read {spec}: {exc}", 2, as_json)
    if name not in doc.profiles:
        close = difflib.get_close_matches(name, list(doc.profiles), n=1)
        _fail(f"no profile {name!r} in {spec}" + (f"; did you mean {close[0]!r}?" if close else ""), 2, as_json)
    return doc.profiles[name]


def _fail(message: str, code: int, as_json: bool):
    if as_json:
        click.echo(json.dumps({"format_version": "1.0", "error": message}))
    else:
        click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.command("explain")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--profile", "name", required=True, help="profile (or sweep member) to explain")
@click.option("--preset", type=_PRESET, default="tiny", show_default=True)
@click.option("--config", type=click.Path(), default=None, help="local diffusers config.json for the DiT")
@click.option("--json", "as_json", is_flag=True, help="one JSON object")
def explain(spec: str, name: str, preset: str, config: str | None, as_json: bool) -> None:
    """Module tree, parameters, memory tokens, attention FLOPs and graph breaks of a profile."""
    from echodsl.compiler.explain import explain as run, render

    report = run(_profile(spec, name, as_json), preset, config)
    click.echo(json.dumps(report.to_json(), indent=2) if as_json else render(report))
    sys.exit(0 if not report.graph_breaks else 1)


@click.command("compile")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--profile", "name", required=True, help="profile (or sweep member) to compile")
@click.option("--preset", type=_PRESET, default="tiny", show_default=True)
@click.option("--config", type=click.Path(), default=None, help="local diffusers config.json for the DiT")
@click.option("--no-compile", is_flag=True, help="build and run eagerly only")
@click.option("--json", "as_json", is_flag=True, help="one JSON object")
def compile_cmd(spec: str, name: str, preset: str, config: str | None, no_compile: bool, as_json: bool) -> None:
    """Build a profile on the preset's DiT, torch.compile it and run one train step."""
    from echodsl.compiler.check import compile_check

    result = compile_check(_profile(spec, name, as_json), preset, config, compile=not no_compile)
    click.echo(json.dumps(result, indent=2) if as_json else "\n".join(f"{k}: {v}" for k, v in result.items()))
