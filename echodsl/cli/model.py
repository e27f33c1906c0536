"""``echodsl compile`` and ``echodsl explain``: a profile lowered onto the Wan DiT."""

from __future__ import annotations

import difflib
import sys

import click

from echodsl.cli.common import emit_json, guarded
from echodsl.errors import UsageError
from echodsl.jsonout import envelope
# The torch-free mirror of the backbone presets (a compiler test keeps the names equal), so
# that `echodsl compile --help` and argument checking import no torch.
from echodsl.presets import PRESETS

_PRESET = click.Choice(sorted(PRESETS))


def _profile(spec: str, name: str):
    """The named profile of ``spec``. A spec with errors raises SpecError (exit 1); an
    unreadable file or unknown profile is a usage error (exit 2)."""
    import echodsl

    try:
        doc = echodsl.load(spec)
    except OSError as exc:
        raise UsageError(f"cannot read {spec}: {exc}") from exc
    if name not in doc.profiles:
        close = difflib.get_close_matches(name, list(doc.profiles), n=1)
        raise UsageError(f"no profile {name!r} in {spec}" + (f"; did you mean {close[0]!r}?" if close else ""))
    return doc.profiles[name]


@click.command("explain")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--profile", "name", required=True, help="profile (or sweep member) to explain")
@click.option("--preset", type=_PRESET, default="tiny", show_default=True)
@click.option("--config", type=click.Path(), default=None, help="local diffusers config.json for the DiT")
@click.option("--json", "as_json", is_flag=True, help="one JSON object")
@click.option("--memory", is_flag=True, help="estimate peak training memory at the study's shape instead "
              "(exit 1 when the study's recipe does not fit the card)")
@click.option("--study", default=None, help="with --memory: the study whose shape and recipe to use")
@click.option("--card-gb", type=click.FloatRange(min=1), default=80.0, show_default=True,
              help="with --memory: the accelerator's memory")
@click.option("--attention", type=click.Choice(["flash", "sdpa", "math"]), default="flash", show_default=True,
              help="with --memory: the attention kernel (math keeps the full attention matrix)")
@guarded
def explain(spec: str, name: str, preset: str, config: str | None, as_json: bool, memory: bool,
            study: str | None, card_gb: float, attention: str) -> None:
    """Module tree, parameters, memory tokens, attention FLOPs and graph breaks of a profile."""
    profile = _profile(spec, name)  # before torch: a spec error costs no start-up
    if memory:
        from pathlib import Path

        from echodsl.cli.memory import memory_lines

        lines, fits, estimates = memory_lines(Path(spec), name, study, attention, card_gb)
        if as_json:
            emit_json(envelope({"card_gb": card_gb, "fits": fits, "estimates": [e.to_json() for e in estimates]}))
        else:
            click.echo("\n".join(lines))
        sys.exit(0 if fits else 1)
    from echodsl.compiler.explain import explain as run, render

    report = run(profile, preset, config)
    if as_json:
        emit_json(envelope(report.to_json()))
    else:
        click.echo(render(report))
    sys.exit(0 if not report.graph_breaks else 1)


@click.command("compile")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--profile", "name", required=True, help="profile (or sweep member) to compile")
@click.option("--preset", type=_PRESET, default="tiny", show_default=True)
@click.option("--config", type=click.Path(), default=None, help="local diffusers config.json for the DiT")
@click.option("--no-compile", is_flag=True, help="build and run eagerly only")
@click.option("--json", "as_json", is_flag=True, help="one JSON object")
@guarded
def compile_cmd(spec: str, name: str, preset: str, config: str | None, no_compile: bool, as_json: bool) -> None:
    """Build a profile on the preset's DiT, torch.compile it and run one train step."""
    profile = _profile(spec, name)  # before torch: a spec error costs no start-up
    from echodsl.compiler.check import compile_check

    result = compile_check(profile, preset, config, compile=not no_compile)
    if as_json:
        emit_json(envelope(result))
    else:
        click.echo("\n".join(f"{k}: {v}" for k, v in result.items()))
