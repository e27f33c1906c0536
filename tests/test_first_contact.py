"""First contact: every command in ``echodsl --help`` fails fast and clearly on the inputs a
new user gets wrong. The contract is generated from the click command tree:

- each leaf command's parameters say which situations it must handle (a spec argument: a
  missing file and a spec with an error; ``--store``: a missing and an empty store; a data
  root: a missing root and a broken data set; a run: a missing run; a study, profile or
  run name: an unknown name), and :data:`CONTRACT` must hold a row for each, so a new
  command cannot land without its rows (``test_every_command_has_its_rows`` names what
  is missing);
- each row runs the command and asserts its exit code (1 for errors in a spec or data set,
  2 for usage and IO), one error line naming the thing, and no ``internal error``.

A new command: add ``("group", "command"): {situation: Row(...), ...}`` to CONTRACT with a
row for every situation the test asks for (or ``{}`` if it takes none of those inputs).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from echodsl.cli import main

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "specs" / "quickstart.mem"
SYNTAX_ERROR = "profile broken {\n    storage frames(k = )\n}\n"
CHECK_ERROR = "profile broken {\n    storage frames(k = -1)\n}\n"

EXIT_ERRORS, EXIT_USAGE = 1, 2


@dataclass(frozen=True)
class Row:
    """Arguments (``{placeholders}`` filled from the fixture tree), the exit code, and what
    the error line must name (a placeholder too)."""

    args: tuple[str, ...]
    code: int
    names: str


# situation -> what a command's parameters must include for it to be asked for
SPEC_SITUATIONS = ("missing file", "spec error")
STORE_SITUATIONS = ("missing store", "empty store")
ROOT_SITUATIONS = ("missing root", "data error")
RUN_SITUATIONS = ("missing run",)
NAME_SITUATIONS = ("unknown name",)
SPEC_PARAMS = {"spec", "paths"}
STORE_PARAMS = {"store", "store_url"}
ROOT_PARAMS = {"root", "ratings"}
RUN_PARAMS = {"run"}
NAME_PARAMS = {"study", "profile", "name", "profile_name", "run_id"}


def required_situations(command: click.Command) -> set[str]:
    # a data root is a positional argument (``--root`` of validate and show bounds imports)
    names = {p.name for p in command.params if p.name not in ROOT_PARAMS or isinstance(p, click.Argument)}
    out: set[str] = set()
    for params, situations in ((SPEC_PARAMS, SPEC_SITUATIONS), (STORE_PARAMS, STORE_SITUATIONS),
                               (ROOT_PARAMS, ROOT_SITUATIONS), (RUN_PARAMS, RUN_SITUATIONS),
                               (NAME_PARAMS, NAME_SITUATIONS)):
        if names & params:
            out.update(situations)
    return out


def leaf_commands() -> dict[tuple[str, ...], click.Command]:
    """Every runnable command under ``echodsl``, by its path (what ``--help`` lists, recursively)."""
    out: dict[tuple[str, ...], click.Command] = {}

    def walk(group: click.Group, prefix: tuple[str, ...]) -> None:
        ctx = click.Context(group)
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            if isinstance(command, click.Group):
                walk(command, prefix + (name,))
            else:
                out[prefix + (name,)] = command

    walk(main, ())
    return out


# a study over the Latin-1 data tree (beside it), for commands that read a dataset through a spec
CAM_STUDY = """profile p {}

study encode {
    backbone    wan(preset = tiny)
    data        cam(root = "latin1")
    profiles    p
}
"""

CONTRACT: dict[tuple[str, ...], dict[str, Row]] = {
    ("validate",): {
        "missing file": Row(("validate", "{missing_spec}"), EXIT_USAGE, "{missing_spec}"),
        "spec error": Row(("validate", "{syntax_error}"), EXIT_ERRORS, "{syntax_error}"),
    },
    ("fmt",): {
        "missing file": Row(("fmt", "{missing_spec}"), EXIT_USAGE, "{missing_spec}"),
        "spec error": Row(("fmt", "{syntax_error}"), EXIT_ERRORS, "{syntax_error}"),
    },
    ("show",): {
        "missing file": Row(("show", "{missing_spec}"), EXIT_USAGE, "{missing_spec}"),
        "spec error": Row(("show", "{check_error}"), EXIT_ERRORS, "{check_error}"),
        "unknown name": Row(("show", "{spec}", "--profile", "qs_typo"), EXIT_USAGE, "qs_typo"),
    },
    ("compile",): {
        "missing file": Row(("compile", "{missing_spec}", "--profile", "qs_i2v"), EXIT_USAGE, "{missing_spec}"),
        "spec error": Row(("compile", "{check_error}", "--profile", "broken"), EXIT_ERRORS, "{check_error}"),
        "unknown name": Row(("compile", "{spec}", "--profile", "qs_typo"), EXIT_USAGE, "qs_typo"),
    },
    ("explain",): {
        "missing file": Row(("explain", "{missing_spec}", "--profile", "qs_i2v"), EXIT_USAGE, "{missing_spec}"),
        "spec error": Row(("explain", "{check_error}", "--profile", "broken"), EXIT_ERRORS, "{check_error}"),
        "unknown name": Row(("explain", "{spec}", "--profile", "qs_typo"), EXIT_USAGE, "qs_typo"),
    },
    ("data", "export-world"): {},  # writes a new tree; reads no spec, store, data root or name
    ("data", "preview"): {},  # renders the embedded world; reads no spec, store, data root or name
    ("data", "index"): {
        "missing root": Row(("data", "index", "{missing_dir}"), EXIT_USAGE, "{missing_dir}"),
        "data error": Row(("data", "index", "{latin1_tree}"), EXIT_ERRORS, "{latin1_captions}"),
    },
    ("data", "encode"): {
        "missing root": Row(("data", "encode", "{missing_dir}", "--spec", "{spec}", "--study", "quickstart"),
                            EXIT_USAGE, "{missing_dir}"),
        "data error": Row(("data", "encode", "{latin1_tree}", "--spec", "{cam_spec}", "--study", "encode",
                           "--cache", "{out}/latents"), EXIT_ERRORS, "{latin1_captions}"),
        "missing file": Row(("data", "encode", "{latin1_tree}", "--spec", "{missing_spec}", "--study", "quickstart"),
                            EXIT_USAGE, "{missing_spec}"),
        "spec error": Row(("data", "encode", "{latin1_tree}", "--spec", "{check_error}", "--study", "quickstart"),
                          EXIT_ERRORS, "{check_error}"),
        "unknown name": Row(("data", "encode", "{latin1_tree}", "--spec", "{spec}", "--study", "qs_typo"),
                            EXIT_USAGE, "qs_typo"),
    },
    ("data", "check"): {
        "missing root": Row(("data", "check", "{missing_dir}"), EXIT_USAGE, "{missing_dir}"),
        "data error": Row(("data", "check", "{latin1_tree}", "--label-frames", "1"), EXIT_ERRORS,
                          "{latin1_captions}"),
        "missing file": Row(("data", "check", "{latin1_tree}", "--spec", "{missing_spec}", "--profile", "qs_context"),
                            EXIT_USAGE, "{missing_spec}"),
        "spec error": Row(("data", "check", "{latin1_tree}", "--spec", "{check_error}", "--profile", "broken"),
                          EXIT_ERRORS, "{check_error}"),
        "unknown name": Row(("data", "check", "{latin1_tree}", "--spec", "{spec}", "--profile", "qs_typo"),
                            EXIT_USAGE, "qs_typo"),
    },
    ("train",): {
        "missing file": Row(("train", "{missing_spec}", "--profile", "qs_i2v"), EXIT_USAGE, "{missing_spec}"),
        "spec error": Row(("train", "{check_error}", "--profile", "broken"), EXIT_ERRORS, "{check_error}"),
        "unknown name": Row(("train", "{spec}", "--profile", "qs_typo"), EXIT_USAGE, "qs_typo"),
        "unknown study": Row(("train", "{spec}", "--profile", "qs_i2v", "--study", "quickstrat"), EXIT_USAGE,
                           "quickstrat"),
    },
    ("eval",): {
        "missing run": Row(("eval", "{missing_dir}"), EXIT_USAGE, "{missing_dir}"),
    },
    ("judge", "calibrate"): {
        "missing root": Row(("judge", "calibrate", "{missing_csv}"), EXIT_USAGE, "{missing_csv}"),
        "data error": Row(("judge", "calibrate", "{bad_ratings}"), EXIT_ERRORS, "{bad_ratings}"),
    },
    ("probe",): {
        "missing run": Row(("probe", "{missing_dir}"), EXIT_USAGE, "{missing_dir}"),
    },
    ("study",): {
        "missing file": Row(("study", "{missing_spec}", "--study", "quickstart"), EXIT_USAGE, "{missing_spec}"),
        "spec error": Row(("study", "{check_error}", "--study", "quickstart"), EXIT_ERRORS, "{check_error}"),
        "unknown name": Row(("study", "{spec}", "--study", "quickstrat"), EXIT_USAGE, "quickstrat"),
        "missing store": Row(("study", "{spec}", "--study", "quickstart", "--store", "{missing_dir}/x.db",
                              "--dry-run"), EXIT_USAGE, "{missing_dir}"),
        "empty store": Row(("study", "{check_error}", "--study", "quickstart", "--store", "{empty_store}"),
                           EXIT_ERRORS, "{check_error}"),
    },
    ("results", "list"): {
        "missing store": Row(("results", "list", "--store", "{missing_store}"), EXIT_USAGE, "{missing_store}"),
        "empty store": Row(("results", "list", "--store", "{empty_store}", "--study", "table1"), EXIT_USAGE,
                           "table1"),
        "unknown name": Row(("results", "list", "--store", "{full_store}", "--study", "tabel1"), EXIT_USAGE, "tabel1"),
    },
    ("results", "show"): {
        "missing store": Row(("results", "show", "1", "--store", "{missing_url}"), EXIT_USAGE, "{missing_store}"),
        "empty store": Row(("results", "show", "1", "--store", "{empty_store}"), EXIT_USAGE, "no run 1"),
        "unknown name": Row(("results", "show", "999", "--store", "{full_store}"), EXIT_USAGE, "no run 999"),
    },
    ("results", "compare"): {
        "missing store": Row(("results", "compare", "--store", "{missing_url}"), EXIT_USAGE, "{missing_store}"),
        "empty store": Row(("results", "compare", "--store", "{empty_store}", "--study", "table1"), EXIT_USAGE,
                           "table1"),
        "unknown name": Row(("results", "compare", "--store", "{full_store}", "--study", "tabel1"), EXIT_USAGE,
                            "tabel1"),
    },
    ("results", "export"): {
        "missing store": Row(("results", "export", "--format", "csv", "--store", "{missing_store}"), EXIT_USAGE,
                             "{missing_store}"),
        "empty store": Row(("results", "export", "--format", "csv", "--store", "{empty_store}", "--study", "t"),
                           EXIT_USAGE, "`t`"),
        "unknown name": Row(("results", "export", "--format", "csv", "--store", "{full_store}", "--study", "tabel1"),
                            EXIT_USAGE, "tabel1"),
    },
    ("results", "plot"): {
        "missing store": Row(("results", "plot", "--store", "{missing_store}"), EXIT_USAGE, "{missing_store}"),
        "empty store": Row(("results", "plot", "--store", "{empty_store}", "--study", "table1"), EXIT_USAGE,
                           "table1"),
        "unknown name": Row(("results", "plot", "--store", "{full_store}", "--study", "tabel1"), EXIT_USAGE,
                            "tabel1"),
    },
    ("export", "mind"): {
        "missing run": Row(("export", "mind", "{missing_dir}", "--out", "{missing_dir}"), EXIT_USAGE,
                           "{missing_dir}"),
    },
    ("report",): {
        "missing store": Row(("report", "--store", "{missing_store}", "--study", "table1", "--out", "{out}"),
                             EXIT_USAGE, "{missing_store}"),
        "empty store": Row(("report", "--store", "{empty_store}", "--study", "table1", "--out", "{out}"),
                           EXIT_USAGE, "table1"),
        "unknown name": Row(("report", "--store", "{full_store}", "--study", "tabel1", "--out", "{out}"),
                            EXIT_USAGE, "tabel1"),
    },
}


def test_every_command_has_its_rows():
    """Generated from the command tree: a command, old or new, lands only with a row for
    every situation its parameters call for (and no rows for a command that is gone)."""
    commands = leaf_commands()
    assert ("results", "compare") in commands and ("validate",) in commands  # the tree was walked
    missing = {" ".join(path): sorted(required_situations(cmd) - set(CONTRACT.get(path, {})))
               for path, cmd in commands.items()}
    missing = {k: v for k, v in missing.items() if v}
    unlisted = sorted(" ".join(p) for p in commands if p not in CONTRACT)
    assert not unlisted, f"commands without a CONTRACT entry (add their rows, or {{}}): {unlisted}"
    assert not missing, f"CONTRACT rows missing (command: situations): {missing}"
    assert not set(CONTRACT) - set(commands), f"rows for commands that do not exist: {set(CONTRACT) - set(commands)}"


def test_every_command_in_the_root_help_is_contracted():
    text = CliRunner().invoke(main, ["--help"], terminal_width=200).output
    section = text.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    listed = {line.split()[0] for line in section.splitlines() if line.startswith("  ") and line[2] != " "}
    assert listed == {path[0] for path in CONTRACT}


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> dict[str, str]:
    """The files each row names: specs, stores, a data tree with Latin-1 captions."""
    from tests.store.store_fixtures import load_study, populate
    from echodsl.data.export import export_world
    from echodsl.data.world import World, WorldConfig
    from echodsl.store import Store

    tmp = tmp_path_factory.mktemp("first_contact")
    (tmp / "spec.mem").write_text(QUICKSTART.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp / "syntax.mem").write_text(SYNTAX_ERROR, encoding="utf-8")
    (tmp / "check.mem").write_text(CHECK_ERROR, encoding="utf-8")
    (tmp / "cam.mem").write_text(CAM_STUDY, encoding="utf-8")
    Store.open(tmp / "empty.db").close()
    with Store.open(tmp / "full.db") as store:
        populate(store, load_study())
    data = tmp / "latin1"
    export_world(World(WorldConfig(scenes=1, frames_per_scene=6, height=8, width=8)), data, progress=False)
    (data / "captions.txt").write_bytes("Apartment_0\tune pi\xe8ce claire\n".encode("latin-1"))
    (tmp / "bad_ratings.csv").write_text("case_id,judge,score\nc1,rubric,not-a-number\n", encoding="utf-8")
    return {
        "spec": str(tmp / "spec.mem"), "missing_spec": str(tmp / "nope.mem"),
        "cam_spec": str(tmp / "cam.mem"), "syntax_error": str(tmp / "syntax.mem"), "check_error": str(tmp / "check.mem"),
        "missing_store": str(tmp / "none.db"), "missing_url": f"sqlite:///{tmp / 'none.db'}",
        "empty_store": str(tmp / "empty.db"), "full_store": str(tmp / "full.db"),
        "missing_dir": str(tmp / "no_such_dir"), "latin1_tree": str(data),
        "latin1_captions": str(data / "captions.txt"), "missing_csv": str(tmp / "none.csv"),
        "bad_ratings": str(tmp / "bad_ratings.csv"), "out": str(tmp / "report"),
    }


ROWS = [pytest.param(path, situation, row, id=f"{' '.join(path)}: {situation}")
        for path, rows in CONTRACT.items() for situation, row in rows.items()]


@pytest.mark.parametrize("path, situation, row", ROWS)
def test_first_contact(tree, path, situation, row, monkeypatch):
    monkeypatch.delenv("ECHODSL_STORE", raising=False)
    args = [a.format(**tree) for a in row.args]
    result = CliRunner().invoke(main, args)
    output = result.output
    assert result.exit_code == row.code, f"{' '.join(args)} -> {result.exit_code}\n{output}"
    assert "internal error" not in output and "Traceback" not in output, output
    named = row.names.format(**tree)
    error_lines = [ln for ln in output.splitlines() if ln.lower().startswith("error")]
    if row.code == EXIT_USAGE:
        assert len(error_lines) == 1, output  # one line (a hint may follow it)
        assert named in error_lines[0], output
    else:
        assert named in output, output


# --- the first-contact paths the README documents ---------------------------------------

def _echodsl(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k != "ECHODSL_STORE"} | (env or {})
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd, env=full, timeout=300)


def test_a_study_starts_on_a_new_store_named_by_a_relative_sqlite_url(tmp_path):
    # In a fresh directory, in its own process, exactly as the README shows it.
    (tmp_path / "quickstart.mem").write_text(QUICKSTART.read_text(encoding="utf-8"), encoding="utf-8")
    done = _echodsl("-m", "echodsl", "study", "quickstart.mem", "--study", "quickstart", "--store",
                    "sqlite:///qs.db", "--dry-run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"{tmp_path / 'qs.db'}" in done.stdout and "new" in done.stdout
    assert not (tmp_path / "qs.db").exists()  # a dry run creates nothing


@pytest.mark.parametrize("how", ["absolute url", "path", "env"])
def test_a_study_names_a_new_sqlite_store_any_documented_way(tmp_path, monkeypatch, how):
    (tmp_path / "quickstart.mem").write_text(QUICKSTART.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ECHODSL_STORE", raising=False)
    store = {"absolute url": ["--store", f"sqlite:///{tmp_path}/qs.db"], "path": ["--store", "qs.db"], "env": []}[how]
    env = {"ECHODSL_STORE": "sqlite:///qs.db"} if how == "env" else {}
    result = CliRunner(env=env).invoke(main, ["study", "quickstart.mem", "--study", "quickstart", *store, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert f"{tmp_path / 'qs.db'}" in result.stdout and "new" in result.stdout


def test_one_naming_rule_for_every_form_of_a_store(tmp_path, monkeypatch):
    from echodsl.errors import StoreError
    from echodsl.store import Store
    from echodsl.store.naming import name_store

    monkeypatch.chdir(tmp_path)
    forms = ["qs.db", str(tmp_path / "qs.db"), "sqlite:///qs.db", f"sqlite:///{tmp_path}/qs.db"]
    assert {name_store(f).url for f in forms} == {f"sqlite:///{tmp_path}/qs.db"}
    assert not name_store("sqlite:///qs.db").exists
    Store.open(name_store("sqlite:///qs.db").url).close()  # what a study's first pair does
    assert (tmp_path / "qs.db").is_file() and name_store("qs.db").exists
    assert name_store("sqlite:///qs.db?timeout=5").url == f"sqlite:///{tmp_path}/qs.db?timeout=5"
    server = "postgresql+psycopg://u:p@db.example/echodsl"
    assert name_store(server).url == server and name_store(server).file is None
    assert name_store("sqlite://").file is None and name_store("sqlite:///:memory:").file is None
    with pytest.raises(StoreError, match="is a directory"):
        name_store(f"sqlite:///{tmp_path}")
    with pytest.raises(StoreError, match="no such directory"):
        name_store("sqlite:///missing/qs.db")


@pytest.mark.parametrize("store", ["sqlite://", "sqlite:///:memory:"])
def test_a_study_refuses_an_in_memory_store(tmp_path, store):
    (tmp_path / "quickstart.mem").write_text(QUICKSTART.read_text(encoding="utf-8"), encoding="utf-8")
    result = CliRunner().invoke(main, ["study", str(tmp_path / "quickstart.mem"), "--study", "quickstart",
                                       "--store", store, "--dry-run"])
    assert result.exit_code == 2 and "in-memory" in result.output


@pytest.mark.parametrize("command", [["study", "--study", "quickstart"], ["train", "--profile", "broken"],
                                     ["explain", "--profile", "broken"]])
def test_a_spec_error_is_reported_before_torch_is_imported(tmp_path, command):
    spec = tmp_path / "bad.mem"
    spec.write_text(CHECK_ERROR, encoding="utf-8")
    done = _echodsl("-X", "importtime", "-m", "echodsl", command[0], "bad.mem", *command[1:], cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "echodsl.lang.parser" in imported  # -X importtime did report
    assert "torch" not in imported, "the spec error was reported after importing torch"
    assert "bad.mem:2" in done.stderr  # the diagnostic validate prints, with its location


def test_a_missing_run_lists_the_runs_beside_it(tmp_path):
    for name in ("qs_i2v-s0", "qs_context-s0"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "run.json").write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(main, ["probe", str(tmp_path / "qs_contxt-s0")])
    assert result.exit_code == 2
    assert f"hint: run directories in {tmp_path}: qs_context-s0, qs_i2v-s0" in result.output


def test_compare_with_a_mistyped_study_lists_the_stores_studies(tree):
    result = CliRunner().invoke(main, ["results", "compare", "--store", tree["full_store"], "--study", "tabel1"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "no study `tabel1`" in result.stderr and "did you mean `table1`?" in result.stderr
    ok = CliRunner().invoke(main, ["results", "compare", "--store", tree["full_store"], "--study", "table1"])
    assert ok.exit_code == 0 and "ctx" in ok.stdout


def test_validate_imports_only_what_validating_needs():
    # The start-up budget (benchmarks/startup.py): no torch, no formatter, and lark without
    # the `regex` module, which stays importable for everyone else afterwards.
    code = f"""
import sys
from echodsl.cli import main
try:
    main(["validate", {str(QUICKSTART)!r}], prog_name="echodsl")
except SystemExit as exc:
    assert exc.code == 0, exc.code
print(sorted(m for m in ("torch", "regex", "echodsl.lang.formatter", "importlib.resources") if m in sys.modules))
import importlib.util
if importlib.util.find_spec("regex"):
    import regex
print("regex importable")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-2:] == ["[]", "regex importable"]
