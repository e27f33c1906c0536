"""The language commands through the real CLI: snapshots per output format, exit codes,
fmt's --check/--diff/refusal, show, and the no-torch promise of `validate`."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from echodsl.cli import main

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden"
BAD = "tests/golden/invalid/many_errors.mem"
WARN = "tests/golden/invalid/warning_token_budget.mem"

SNAPSHOTS = {
    "validate_full": ["validate", BAD],
    "validate_concise": ["validate", "--format", "concise", BAD],
    "validate_json": ["validate", "--json", BAD],
    "validate_github": ["validate", "--format", "github", BAD],
    "validate_clean": ["validate", "tests/golden/valid/design_example.mem"],
    "validate_warning": ["validate", WARN],
    "validate_warning_strict": ["validate", "--strict", WARN],
    "validate_missing_path": ["validate", "no/such.mem"],
    "validate_missing_path_json": ["validate", "--json", "no/such.mem"],
    "show_member": ["show", "tests/golden/valid/sweep_product.mem", "--profile", "grid[storage.k=4,storage.select.recency=0.5,compression.ratio=2]"],
    "show_unknown_profile": ["show", "tests/golden/valid/sweep_product.mem", "--profile", "gird"],
    "fmt_unparsable": ["fmt", "--check", "tests/golden/invalid/syntax_eof.mem"],
}


def run_cli(args):
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("name", sorted(SNAPSHOTS))
def test_cli_snapshot(name, update_goldens, monkeypatch):
    monkeypatch.chdir(ROOT)
    args = SNAPSHOTS[name]
    code, out, err = run_cli(args)
    actual = f"args: {' '.join(args)}\nexit_code: {code}\n--- stdout\n{out}--- stderr\n{err}"
    path = GOLDEN / "cli" / f"{name}.txt"
    if update_goldens or not path.exists():
        path.write_text(actual)
    assert actual == path.read_text()


def test_json_output_is_one_object_with_format_version_first(monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = run_cli(["validate", "--json", BAD])
    data = json.loads(out)
    assert code == 1 and next(iter(data)) == "format_version" and data["error_count"] == 6
    assert {d["code"] for d in data["diagnostics"]} == {"E106", "E101", "E110", "E111", "E123"}
    first = data["diagnostics"][0]
    assert first["range"]["start"] == {"line": 2, "column": 24, "byte": 35}


def test_validate_directory_of_paper_specs(monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = run_cli(["validate", "specs/"])
    assert code == 0, out


def test_fmt_check_diff_and_write(tmp_path):
    spec = tmp_path / "a.mem"
    spec.write_text("profile a{storage frames(k=5) # keep me\n}\n")
    code, out, _ = run_cli(["fmt", "--check", str(spec)])
    assert code == 1 and "would reformat" in out
    code, out, _ = run_cli(["fmt", "--diff", str(spec)])
    assert code == 0 and "+    storage     frames(k = 5)  # keep me" in out
    assert spec.read_text().startswith("profile a{")  # --diff writes nothing
    assert run_cli(["fmt", str(spec)])[0] == 0
    assert spec.read_text() == "profile a {\n    storage     frames(k = 5)  # keep me\n}\n"
    assert run_cli(["fmt", "--check", str(spec)])[0] == 0


def test_fmt_leaves_unparsable_file_untouched(tmp_path):
    spec = tmp_path / "broken.mem"
    spec.write_text("profile a {\n  storage frames(k = 5\n")
    before = spec.read_bytes()
    code, _, err = run_cli(["fmt", str(spec)])
    assert code == 1 and "does not parse" in err
    assert spec.read_bytes() == before


def test_validate_uses_no_torch_and_starts_fast():
    """The language layer is what pre-commit hooks run: it must not import torch."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "echodsl", "validate", "specs/"],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}
    assert "torch" not in imported and "numpy" not in imported


def test_console_script_and_imports_across_root(tmp_path):
    """A real subprocess through the installed `echodsl` script; --root widens imports."""
    exe = shutil.which("echodsl")
    if exe is None:
        pytest.skip("console script not installed")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "base.mem").write_text("profile base {\n    storage frames(k = 3)\n}\n")
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "run.mem").write_text('import "../lib/base.mem"\n\nprofile mine extends base {}\n')
    narrow = subprocess.run([exe, "validate", "--format", "concise", str(tmp_path / "exp" / "run.mem")],
                            capture_output=True, text=True)
    assert narrow.returncode == 1 and "E115" in narrow.stdout
    wide = subprocess.run([exe, "validate", "--root", str(tmp_path), str(tmp_path / "exp" / "run.mem")],
                          capture_output=True, text=True)
    assert wide.returncode == 0, wide.stdout + wide.stderr


def test_root_help_lists_every_available_command():
    code, out, _ = run_cli(["--help"])
    assert code == 0
    for name in ("validate", "fmt", "show", "train", "data"):
        assert f"  {name} " in out
