"""Diagnostics: the data every check returns instead of raising at the first problem.

A diagnostic has a severity, a stable code (never reused for another meaning), a terse
one-line summary, a detail with the hint ("did you mean ..."), the exact span of the
offending construct, and notes pointing at second locations (the first of two
duplicates, the other end of a cycle, the inherited value a check compared against).
Rendering lives in ``render.py``; this module is only the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from echodsl.errors import did_you_mean  # noqa: F401  (re-exported: the checker's hints)
from echodsl.lang.source import Span


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


# Stable codes. A code keeps its meaning forever; retired codes are never reused.
CODES: dict[str, str] = {
    # syntax (the file does not parse)
    "E001": "unexpected token",
    "E002": "unexpected character",
    "E003": "unexpected end of file",
    "E004": "file is not UTF-8 text",
    "E005": "file too large",
    "E006": "nesting too deep",
    "E007": "number literal out of range",
    "E008": "invalid string escape",
    # semantics (the file parses but does not check)
    "E101": "unknown clause keyword",
    "E102": "unknown variant",
    "E103": "unknown argument",
    "E104": "missing required argument",
    "E105": "wrong type",
    "E106": "value out of range",
    "E107": "duplicate clause",
    "E108": "duplicate argument",
    "E109": "incompatible clauses",
    "E110": "unknown profile in extends",
    "E111": "unknown profile in study",
    "E112": "duplicate name",
    "E113": "extends cycle",
    "E114": "imported file not found",
    "E115": "import outside the root directory",
    "E116": "import cycle",
    "E117": "invalid sweep set",
    "E118": "sweep not allowed here",
    "E119": "missing required clause",
    "E120": "conflicting arguments",
    "E121": "not a profile",
    "E122": "clause takes one value",
    "E123": "listed twice",
    "E124": "sweep expands to too many profiles",
    "E125": "name too long",
    "E126": "trains on evaluation data",
    "E127": "k conflicts with tail(n)",
    "E128": "carried state without a contiguous history",
    # warnings
    "W201": "token budget exceeded",
}


@dataclass(frozen=True)
class Note:
    message: str
    span: Span | None = None

    def to_json(self) -> dict:
        return {"message": self.message, "range": self.span.to_json() if self.span else None}


@dataclass(frozen=True)
class Diagnostic:
    severity: Severity
    code: str
    summary: str
    span: Span
    detail: str = ""
    hint: str = ""
    notes: tuple[Note, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        assert self.code in CODES, f"unregistered diagnostic code {self.code!r}"

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


def error(code: str, summary: str, span: Span, *, detail: str = "", hint: str = "",
          notes: tuple[Note, ...] = ()) -> Diagnostic:
    return Diagnostic(Severity.ERROR, code, summary, span, detail, hint, tuple(notes))


def warning(code: str, summary: str, span: Span, *, detail: str = "", hint: str = "",
            notes: tuple[Note, ...] = ()) -> Diagnostic:
    return Diagnostic(Severity.WARNING, code, summary, span, detail, hint, tuple(notes))


def sort_key(d: Diagnostic) -> tuple:
    return (d.span.file, d.span.start.byte, d.code, d.summary)
