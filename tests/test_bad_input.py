"""Hostile input gets diagnostics, never tracebacks (and specs are never executed)."""

import subprocess
import sys
from pathlib import Path

import echodsl
from echodsl.lang.api import analyze_file


def codes(path):
    _, diagnostics = analyze_file(Path(path))
    return [d.code for d in diagnostics]


def test_binary_garbage(tmp_path):
    path = tmp_path / "bin.mem"
    path.write_bytes(b"profile a {}\n\x89PNG\r\n\x1a\n\x00\xff\xfe")
    assert codes(path) == ["E004"]


def test_ten_megabyte_file(tmp_path):
    path = tmp_path / "big.mem"
    path.write_text("profile a {}\n" + "# padding\n" * 1_000_000)
    assert codes(path) == ["E005"]


def test_deep_nesting_and_huge_numbers(tmp_path):
    deep = tmp_path / "deep.mem"
    deep.write_text("profile a { storage frames(k = " + "{" * 5000 + "1" + "}" * 5000 + ") }")
    assert codes(deep) == ["E006"]
    huge = tmp_path / "huge.mem"
    huge.write_text("profile a { storage frames(k = " + "9" * 5000 + ") }")
    assert codes(huge) == ["E007"]


def test_nul_and_control_characters(tmp_path):
    path = tmp_path / "nul.mem"
    path.write_text("profile a {\x00}")
    assert codes(path) == ["E002"]


def test_specs_are_data_not_code(tmp_path):
    marker = tmp_path / "pwned"
    text = f'profile a {{}}\nstudy s {{ data cam(root = "__import__(\'os\').system(\'touch {marker}\')") profiles a }}'
    doc = echodsl.loads(text)
    assert doc.study("s").data["root"].startswith("__import__") and not marker.exists()


def test_cli_never_shows_a_traceback_for_garbage(tmp_path):
    path = tmp_path / "junk.mem"
    path.write_bytes(bytes(range(256)) * 10)
    proc = subprocess.run([sys.executable, "-m", "echodsl", "validate", str(path)], capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr and "E004" in proc.stdout


def test_import_of_a_directory_or_unreadable_target(tmp_path):
    (tmp_path / "sub.mem").mkdir()
    path = tmp_path / "a.mem"
    path.write_text('import "sub.mem"\nprofile a {}\n')
    assert codes(path) == ["E114"]
