"""Start-up of the command line: `--help` of the root and of every command imports no
torch (nor numpy, SQLAlchemy, diffusers), and the root lists the commands without
importing any command module, the listing equal to what click builds from the commands."""

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from echodsl.cli import COMMANDS, SHORT_HELP, LazyGroup, main

HEAVY = ("torch", "numpy", "sqlalchemy", "diffusers", "alembic")
HELPS = [[], ["validate"], ["fmt"], ["show"], ["compile"], ["explain"], ["data"], ["data", "export-world"],
         ["data", "check"], ["data", "preview"], ["train"], ["eval"], ["judge"], ["judge", "calibrate"],
         ["study"], ["results"], ["results", "list"], ["results", "show"], ["results", "compare"],
         ["results", "export"], ["results", "plot"]]


def _in_fresh_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_help_imports_nothing_heavy():
    code = f"""
import sys
from echodsl.cli import main
outputs = []
for args in {HELPS!r}:
    try:
        main(args + ["--help"], prog_name="echodsl", standalone_mode=False)
    except SystemExit:
        pass
print(sorted(m for m in {HEAVY!r} if m in sys.modules))
"""
    out = _in_fresh_python(code)
    assert "Usage: echodsl results plot" in out and "Usage: echodsl data preview" in out  # each help ran
    assert out.strip().splitlines()[-1] == "[]"


def test_root_help_imports_no_command_module():
    out = _in_fresh_python("""
import sys
from echodsl.cli import main
try:
    main(["--help"], prog_name="echodsl", standalone_mode=False)
except SystemExit:
    pass
print(sorted(m for m in sys.modules if m.startswith("echodsl.cli.") and m != "echodsl.cli.common"))
""")
    assert "validate" in out and "results" in out
    assert out.strip().splitlines()[-1] == "[]"


class _EagerGroup(LazyGroup):
    """The listing click itself builds, by importing every command."""

    format_commands = click.Group.format_commands


@pytest.mark.parametrize("columns", ["200", "80", "60"])
def test_root_listing_equals_the_commands_own_short_help(columns, monkeypatch):
    monkeypatch.setenv("COLUMNS", columns)
    lazy = CliRunner().invoke(main, ["--help"], prog_name="echodsl").output
    eager_main = _EagerGroup(name=main.name, params=main.params, callback=main.callback, help=main.help,
                             epilog=main.epilog, context_settings=main.context_settings)
    eager = CliRunner().invoke(eager_main, ["--help"], prog_name="echodsl").output
    assert lazy == eager
    assert set(SHORT_HELP) == set(COMMANDS)


def test_preset_choices_are_the_backbone_presets():
    # `compile`/`explain` take their --preset choices from the one torch-free table.
    from echodsl.cli.model import explain
    from echodsl.presets import PRESETS

    choices = next(p for p in explain.params if p.name == "preset").type.choices
    assert set(choices) == set(PRESETS)
