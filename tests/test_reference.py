"""docs/language.md is the checker's own table, rendered: it cannot drift."""

from pathlib import Path

import echodsl
from echodsl.lang.reference import INTRO, render

DOC = Path(__file__).resolve().parents[1] / "docs" / "language.md"


def test_the_language_reference_is_current():
    assert DOC.read_text(encoding="utf-8") == render(), \
        "docs/language.md is out of date: python -m echodsl.lang.reference > docs/language.md"


def test_the_reference_example_is_valid():
    example = INTRO.split("```")[1]
    doc = echodsl.loads(example.replace('import "base.mem"', ""))
    assert "context_sweep[storage.k=10]" in doc.profiles and doc.study("demo").seeds == (0, 1)
