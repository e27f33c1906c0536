"""What every command shares: turning errors into exit codes and readable messages.

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
from echodsl.lang.render import FORMAT_VERSION, SourceCache, render_full

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2

# Which extra brings each optional top-level module (see pyproject.toml).
EXTRA_OF = {
    **dict.fromkeys(("sqlalchemy", "alembic", "tabulate", "matplotlib"), "store"),
    **dict.fromkeys(("diffusers", "einops", "safetensors", "torchmetrics", "PIL", "numpy", "tqdm", "scipy"), "model"),
    "submitit": "slurm", "psycopg": "postgres", "flash_attn": "flash",
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


def emit_json(obj: Any) -> None:
    """Print ``obj`` as strict JSON (non-finite numbers become null plus a note)."""
    click.echo(jsonout.dumps(obj, indent=2, ensure_ascii=False, default=str))


def fail(message: str, code: int = EXIT_USAGE, *, as_json: bool = False, hint: str | None = None) -> None:
    """Print an error (as JSON under --json) and exit with ``code``."""
    if as_json:
        emit_json({"format_version": FORMAT_VERSION, "valid": False,
                   "error": {"message": message, "hint": hint, "exit_code": code}})
    else:
        click.secho(f"error: {message}", fg="red", err=True)
        if hint:
            click.echo(f"  hint: {hint}", err=True)
    sys.exit(code)


def guarded(fn: Callable) -> Callable:
    """Decorate a command so known failures become clean messages and exit codes."""

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
            if isinstance(exc, (EchoError, OSError, KeyError)):
                fail(_text(exc), EXIT_USAGE, as_json=as_json)
            fail(f"internal error: {type(exc).__name__}: {exc}", EXIT_USAGE, as_json=as_json,
                 hint="re-run with --debug for a traceback, and please report it")

    return wrapper


def _text(exc: Exception) -> str:
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc)
