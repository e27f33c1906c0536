"""What every command shares: the one place errors become exit codes and readable
messages (:func:`guarded`), and the one way ``--json`` documents are printed (:func:`emit_json`).

Users see a traceback only with ``--debug`` (or ``ECHODSL_DEBUG=1``). Under ``--json``
even a usage or IO failure is printed as one JSON object.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Any, Callable

import click

from echodsl import jsonout
from echodsl.errors import DataError, EchoError, SpecError, UsageError
from echodsl.jsonout import envelope
from echodsl.lang.render import SourceCache, render_full

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2

# Which extra brings each optional top-level module (see pyproject.toml).
EXTRA_OF = {
    **dict.fromkeys(("sqlalchemy", "alembic", "tabulate", "matplotlib"), "store"),
    **dict.fromkeys(("diffusers", "einops", "safetensors", "torchmetrics", "PIL", "numpy", "tqdm", "scipy"), "model"),
    "submitit": "slurm", "psycopg": "postgres", "flash_attn": "flash", "transformers": "text",
}


def missing_extra(exc: ModuleNotFoundError) -> tuple[str, str] | None:
    """(message, hint) naming what to install for a missing optional module, else None."""
    module = (exc.name or "").split(".")[0]
    if module == "torch":
        return "this command needs torch, which is not installed", "pip install torch==2.13.0"
    extra = EXTRA_OF.get(module)
    if extra is None:
        return None
    return (f"this command needs the `{extra}` extra ({module} is not installed)",
            f'pip install "echodsl[{extra}]"')


def emit_json(obj: Any, *, indent: int | None = 2) -> None:
    """Print ``obj`` as strict JSON (non-finite numbers become null plus a note); a
    document is built with :func:`echodsl.jsonout.envelope`. ``indent=None`` keeps a large
    document on one line."""
    click.echo(jsonout.dumps(obj, indent=indent, ensure_ascii=False, default=str))


def fail(message: str, code: int = EXIT_USAGE, *, as_json: bool = False, hint: str | None = None) -> None:
    """Print an error (as JSON under --json) and exit with ``code``."""
    if as_json:
        emit_json(envelope(valid=False, error={"message": message, "hint": hint, "exit_code": code}))
    else:
        click.secho(f"error: {message}", fg="red", err=True)
        if hint:
            click.echo(f"  hint: {hint}", err=True)
    sys.exit(code)


GUARDED = "echodsl_guarded"  # the attribute that marks a guarded callback


def guarded(fn: Callable) -> Callable:
    """Decorate a command so known failures become clean messages and exit codes.

    Every command has it (a test walks them all): an ``EchoError`` from any layer exits
    with its code and one line (or one JSON object under ``--json``), never a traceback.
    """
    if getattr(fn, GUARDED, False):
        return fn

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        as_json = bool(kwargs.get("as_json")) or kwargs.get("output_format") == "json"
        try:
            return fn(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - the one place errors become exit codes
            if os.environ.get("ECHODSL_DEBUG") or click.get_current_context().meta.get("echodsl.debug"):
                raise
            if isinstance(exc, ModuleNotFoundError) and (named := missing_extra(exc)):
                fail(named[0], EXIT_USAGE, as_json=as_json, hint=named[1])
            if isinstance(exc, SpecError):
                if as_json:
                    from echodsl.lang.render import report_json
                    emit_json(report_json(exc.diagnostics, SourceCache()))
                else:
                    sources = SourceCache()
                    for d in exc.diagnostics:
                        click.echo(render_full(d, sources) + "\n", err=True)
                sys.exit(EXIT_ERRORS)
            if isinstance(exc, UsageError):
                fail(exc.message, EXIT_USAGE, as_json=as_json, hint=exc.hint)
            if isinstance(exc, DataError):
                fail(str(exc), EXIT_ERRORS, as_json=as_json)
            # NotFound (an unknown profile or study name) lands here too: a usage error. A
            # bare KeyError does not: it is a bug, and is reported as one.
            if isinstance(exc, (EchoError, OSError)):
                fail(_text(exc), EXIT_USAGE, as_json=as_json)
            fail(f"internal error: {type(exc).__name__}: {exc}", EXIT_USAGE, as_json=as_json,
                 hint="re-run with --debug for a traceback, and please report it")

    setattr(wrapper, GUARDED, True)
    return wrapper


def _text(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc)


def open_store(value: str):
    """Open an existing store for reading, named by the one naming rule (a path, a relative
    or absolute ``sqlite:///`` URL, or a server URL). A SQLite file that does not exist is
    a usage error: commands that only read never create a store."""
    from echodsl.store import Store
    from echodsl.store.naming import name_store

    name = name_store(value)
    if not name.exists:
        raise UsageError(f"{name.file}: no results store here",
                         hint="name the store with --store or ECHODSL_STORE, or run `echodsl study` first")
    return Store.open(name.url, create=False)


def require_names(store, *, study: str | None = None, setup: str | None = None) -> None:
    """A usage error listing what the store holds when ``study`` (or the ``setup`` hash
    prefix) names nothing in it: a typo must not look like an empty result."""
    if study is None and setup is None:
        return
    runs = store.runs()
    studies = sorted({r.study for r in runs if r.study})
    if study is not None and study not in studies:
        from echodsl.lang.diagnostics import did_you_mean

        raise UsageError(f"no study `{study}` in {store.url}" + (f"; {did_you_mean(study, studies)}" if studies else ""),
                         hint=None if studies else "the store holds no runs yet; run `echodsl study` first")
    if setup is not None:
        hashes = sorted({r.identity.setup_hash for r in runs if study is None or r.study == study})
        if not any(h.startswith(setup) for h in hashes):
            raise UsageError(f"no setup `{setup}`" + (f" in study `{study}`" if study else "") + f" in {store.url}",
                             hint=("setups: " + ", ".join(h[:12] for h in hashes)) if hashes else "no runs")


def check_spec_names(spec, *, study: str | None = None, profile: str | None = None):
    """Parse and check ``spec`` and look up the named study and profile, before a command
    imports torch: a spec error costs a fraction of a second (exit 1, the diagnostics
    ``validate`` prints), an unknown name likewise (exit 2, listing what the spec holds).
    Returns the loaded document."""
    from echodsl.lang.api import load

    doc = load(spec)
    if study is not None:
        doc.study(study)
    if profile is not None:
        doc.profile(profile)
    return doc


def check_run_path(path) -> None:
    """A usage error, before torch is imported, when ``path`` is neither a run directory
    (one with run.json) nor a checkpoint file."""
    from pathlib import Path

    path = Path(path)
    if path.is_file():
        return
    if not path.exists():
        parent = path.parent if path.parent.is_dir() else None
        runs = sorted(p.name for p in parent.iterdir() if (p / "run.json").is_file())[:8] if parent else []
        raise UsageError(f"no such run directory or checkpoint: {path}",
                         hint=f"run directories in {parent}: {', '.join(runs)}" if runs
                         else "pass a directory `echodsl train` or `echodsl study` wrote")
    if not (path / "run.json").is_file():
        raise UsageError(f"{path} has no run.json: not an echodsl run directory")
