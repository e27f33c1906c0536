"""Rendering diagnostics: full (caret excerpts), concise, JSON and GitHub annotations.

All formats render the same ``Diagnostic`` data. The JSON shape follows Terraform's
``validate -json``: one object, ``format_version`` first; consumers ignore unknown fields,
additive changes bump the minor version.
"""

from __future__ import annotations

from pathlib import Path

from echodsl.jsonout import envelope
from echodsl.lang.diagnostics import Diagnostic
from echodsl.lang.source import SourceFile, Span

FORMATS = ("full", "concise", "json", "github")


class SourceCache:
    """Reads each file once to show excerpts; unreadable files render without one."""

    def __init__(self, texts: dict[str, str] | None = None):
        self._files: dict[str, SourceFile | None] = {k: SourceFile(k, v) for k, v in (texts or {}).items()}

    def get(self, path: str) -> SourceFile | None:
        if path not in self._files:
            try:
                self._files[path] = SourceFile(path, Path(path).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                self._files[path] = None
        return self._files[path]


def _message(d: Diagnostic) -> str:
    return d.summary + (f": {d.detail}" if d.detail else "")


def render_full(d: Diagnostic, sources: SourceCache) -> str:
    """rustc-style: headline, location, the line with carets, detail, hint, notes."""
    width = max([len(str(d.span.start.line))] + [len(str(n.span.start.line)) for n in d.notes if n.span])
    pad = " " * width
    lines = [f"{d.severity.value}[{d.code}]: {d.summary}", f"{pad}--> {d.span}"]
    lines += _excerpt(d.span, sources, width)
    if d.detail:
        lines.append(f"{pad} = {d.detail}")
    if d.hint:
        lines.append(f"{pad} = hint: {d.hint}")
    for note in d.notes:
        lines.append(f"{pad} = note: {note.message}" + (f" at {note.span}" if note.span else ""))
        if note.span is not None:
            lines += _excerpt(note.span, sources, width)
    return "\n".join(lines)


def _excerpt(span: Span, sources: SourceCache, width: int) -> list[str]:
    src = sources.get(span.file)
    if src is None or span.start.line > len(src.lines):
        return []
    line = span.start.line
    text = src.line_text(line).replace("\t", " ")
    carets = (span.end.column - span.start.column) if span.end.line == line else len(text) - span.start.column + 1
    pad = " " * width
    return [f"{pad} |", f"{str(line).rjust(width)} | {text}",
            f"{pad} | " + " " * (span.start.column - 1) + "^" * max(1, carets)]


def render_concise(d: Diagnostic) -> str:
    return f"{d.span}: {d.severity.value}[{d.code}] {_message(d)}" + (f" ({d.hint})" if d.hint else "")


def render_github(d: Diagnostic) -> str:
    level = "error" if d.is_error else "warning"
    message = f"{d.code} {_message(d)}" + (f" ({d.hint})" if d.hint else "")
    # GitHub's workflow-command syntax: properties escape %, \r, \n, ':' and ','.
    def prop(s: str) -> str:
        return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A").replace(":", "%3A").replace(",", "%2C")
    message = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    s = d.span
    return (f"::{level} file={prop(s.file)},line={s.start.line},col={s.start.column},"
            f"endLine={s.end.line},endColumn={s.end.column},title={prop(d.code)}::{message}")


def diagnostic_json(d: Diagnostic, sources: SourceCache) -> dict:
    out = {
        "severity": d.severity.value,
        "code": d.code,
        "summary": d.summary,
        "detail": d.detail,
        "hint": d.hint,
        "range": d.span.to_json(),
        "notes": [n.to_json() for n in d.notes],
    }
    src = sources.get(d.span.file)
    if src is not None:
        out["snippet"] = {"code": src.line_text(d.span.start.line), "start_line": d.span.start.line,
                          "highlight_start_column": d.span.start.column,
                          "highlight_end_column": d.span.end.column if d.span.end.line == d.span.start.line
                          else len(src.line_text(d.span.start.line)) + 1}
    return out


def report_json(diagnostics: list[Diagnostic], sources: SourceCache, **extra) -> dict:
    errors = sum(d.is_error for d in diagnostics)
    return envelope({
        "valid": errors == 0,
        "error_count": errors,
        "warning_count": len(diagnostics) - errors,
        **extra,
        "diagnostics": [diagnostic_json(d, sources) for d in diagnostics],
    })
