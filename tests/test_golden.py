"""Data-driven golden tests: each case is a .mem file plus expected files with its stem.

    valid/<case>.mem    -> <case>.canonical.json   (resolved profiles, spec hashes, studies)
    invalid/<case>.mem  -> <case>.diagnostics.txt  (every diagnostic, full rendering)
    fmt/<case>.mem      -> <case>.fmt.mem          (echodsl fmt output)

Run `pytest tests/test_golden.py --update-goldens` to rewrite the expected files.
"""

import json
from pathlib import Path

import pytest

import echodsl
from echodsl.lang.api import analyze_file
from echodsl.lang.formatter import format_module
from echodsl.lang.render import SourceCache, render_full

GOLDEN = Path(__file__).parent / "golden"


def cases(suite: str) -> list[str]:
    return sorted(p.stem for p in (GOLDEN / suite).glob("*.mem") if not p.stem.endswith(".fmt"))


def check_golden(path: Path, actual: str, update: bool) -> None:
    if update or not path.exists():
        path.write_text(actual)
        if not update:
            pytest.fail(f"created missing golden {path.name}; review and commit it")
    assert actual == path.read_text(), f"{path.name} differs (run with --update-goldens if intended)"


@pytest.mark.parametrize("case", cases("valid"))
def test_valid(case, update_goldens, monkeypatch):
    monkeypatch.chdir(GOLDEN / "valid")
    doc = echodsl.load(f"{case}.mem")
    actual = {
        "profiles": [{"profile": p.name, "spec_hash": p.spec_hash, "canonical": p.canonical()}
                     for p in doc.own_profiles()],
        "studies": {name: s.canonical() for name, s in doc.studies.items()},
        "warnings": [f"{d.code} {d.summary}" for d in doc.warnings],
    }
    check_golden(GOLDEN / "valid" / f"{case}.canonical.json", json.dumps(actual, indent=2) + "\n", update_goldens)


@pytest.mark.parametrize("case", cases("invalid"))
def test_invalid(case, update_goldens, monkeypatch):
    monkeypatch.chdir(GOLDEN / "invalid")
    doc, diagnostics = analyze_file(Path(f"{case}.mem"))
    assert diagnostics, "an invalid case must produce at least one diagnostic"
    sources = SourceCache()
    actual = "\n\n".join(render_full(d, sources) for d in diagnostics) + "\n"
    check_golden(GOLDEN / "invalid" / f"{case}.diagnostics.txt", actual, update_goldens)


@pytest.mark.parametrize("case", cases("fmt"))
def test_fmt(case, update_goldens):
    source = (GOLDEN / "fmt" / f"{case}.mem").read_text()
    module, diagnostics = echodsl.parse(source, f"{case}.mem")
    assert not diagnostics
    formatted = format_module(module)
    again, _ = echodsl.parse(formatted, f"{case}.mem")
    assert format_module(again) == formatted, "fmt must be idempotent"
    assert [c.text.rstrip() for c in again.comments] == [c.text.rstrip() for c in module.comments]
    check_golden(GOLDEN / "fmt" / f"{case}.fmt.mem", formatted, update_goldens)


def test_every_diagnostic_code_has_an_invalid_golden():
    from echodsl.lang.diagnostics import CODES

    seen = set()
    for path in (GOLDEN / "invalid").glob("*.diagnostics.txt"):
        for line in path.read_text().splitlines():
            if line.startswith(("error[", "warning[")):
                seen.add(line.split("[", 1)[1].split("]", 1)[0])
    # E004 (not UTF-8) and E005 (over 1 MiB) cannot live in a text golden: tests/test_bad_input.py.
    missing = set(CODES) - seen - {"E004", "E005"}
    assert not missing, f"codes without an invalid golden: {sorted(missing)}"
