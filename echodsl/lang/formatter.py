"""The canonical layout of ``.mem`` text (``echodsl fmt``), comments kept.

Layout: one clause per line, four-space indent, keywords padded to one column, one
space around ``=``, ``, `` between list items, no trailing commas, one blank line
between top-level blocks (consecutive imports stay together), at most one blank line
kept inside a block. Number literals are kept as written (``5e-5`` stays ``5e-5``).

Comments are attached by position: a comment after code on the same line trails that
line; any other comment leads the next line of code (a comment inside a clause that
spans several lines moves above it). Formatting is idempotent.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from echodsl.lang import ast
from echodsl.lang.model import Profile, Variant
from echodsl.lang.schema import PROFILE_CLAUSE_ORDER
from echodsl.lang.source import Pos

INDENT = "    "
KEYWORD_COLUMN = 12  # `compression` (11) plus one space


@dataclass
class _Unit:
    """One output line of code and the source range it came from."""

    text: str
    start: Pos
    end: Pos
    indent: int
    top: bool  # starts a top-level item
    is_import: bool = False
    leading: list[ast.Comment] = field(default_factory=list)
    trailing: list[ast.Comment] = field(default_factory=list)


def format_module(module: ast.Module) -> str:
    units = _units(module)
    leftover = _attach(units, module.comments)
    out: list[str] = []
    prev_line: int | None = None
    prev_import = False
    for unit in units:
        first = True
        for element in [*unit.leading, unit]:
            line = element.span.start.line if isinstance(element, ast.Comment) else element.start.line
            if out and first and unit.top and not (unit.is_import and prev_import):
                _blank(out)
            elif out and prev_line is not None and line - prev_line > 1 and out[-1].strip() not in ("", "{") \
                    and not out[-1].endswith("{") and not _closes(element):
                _blank(out)
            if isinstance(element, ast.Comment):
                depth = 1 if _closes(unit) else unit.indent  # a comment before `}` is inside the block
                out.append(INDENT * depth + element.text.rstrip())
                prev_line = element.span.end.line
            else:
                text = INDENT * unit.indent + unit.text
                if unit.trailing:
                    text += "  " + "  ".join(c.text.rstrip() for c in unit.trailing)
                out.append(text)
                prev_line = unit.end.line
            first = False
        prev_import = unit.is_import
    for comment in leftover:
        if out and prev_line is not None and comment.span.start.line - prev_line > 1:
            _blank(out)
        out.append(comment.text.rstrip())
        prev_line = comment.span.end.line
    return "\n".join(out).rstrip("\n") + "\n" if out else ""


def _closes(element: Any) -> bool:
    return isinstance(element, _Unit) and element.text == "}"


def _blank(out: list[str]) -> None:
    if out and out[-1] != "":
        out.append("")


def _units(module: ast.Module) -> list[_Unit]:
    units: list[_Unit] = []
    for item in module.items:
        if isinstance(item, ast.Import):
            units.append(_Unit(f"import {_string(item.path.value)}", item.span.start, item.span.end, 0, True, True))
            continue
        head = f"profile {item.name.name}" if isinstance(item, ast.ProfileDecl) else f"study {item.name.name}"
        head_end = item.name.span.end
        if isinstance(item, ast.ProfileDecl) and item.extends is not None:
            head += f" extends {item.extends.name}"
            head_end = item.extends.span.end
        close = Pos(item.span.end.line, item.span.end.column - 1, item.span.end.byte - 1)
        if not item.clauses and not any(item.span.start.byte < c.span.start.byte < close.byte
                                        for c in module.comments):
            units.append(_Unit(head + " {}", item.span.start, item.span.end, 0, True))
            continue
        units.append(_Unit(head + " {", item.span.start, head_end, 0, True))
        for clause in item.clauses:
            units.append(_Unit(format_clause(clause), clause.span.start, clause.span.end, 1, False))
        units.append(_Unit("}", close, item.span.end, 0, False))
    return units


def _attach(units: list[_Unit], comments: tuple[ast.Comment, ...]) -> list[ast.Comment]:
    """Give each comment to a unit; returns the comments after the last unit."""
    leftover = []
    for comment in comments:
        at = comment.span.start.byte
        same_line = [u for u in units if u.end.line == comment.span.start.line and u.end.byte <= at]
        if same_line:
            same_line[-1].trailing.append(comment)
            continue
        nxt = next((u for u in units if u.end.byte > at), None)
        if nxt is None:
            leftover.append(comment)
        else:
            nxt.leading.append(comment)
    return leftover


def format_clause(clause: ast.Clause) -> str:
    keyword = clause.keyword.name
    values = ", ".join(format_value(v) for v in clause.values)
    return (keyword.ljust(KEYWORD_COLUMN - 1) + " " + values) if len(keyword) < KEYWORD_COLUMN else f"{keyword} {values}"


def format_value(node: ast.Value) -> str:
    if isinstance(node, ast.Literal):
        return _string(node.value) if node.kind == "string" else node.text
    if isinstance(node, ast.Sweep):
        return "{" + ", ".join(format_value(m) for m in node.members) + "}"
    if node.args is None:
        return node.name.name
    return f"{node.name.name}(" + ", ".join(f"{a.name.name} = {format_value(a.value)}" for a in node.args) + ")"


def _string(value: Any) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_profile(profile: Profile) -> str:
    """One resolved profile as a self-contained block, every clause explicit."""
    name = re.sub(r"\W+", "_", profile.name).strip("_") or "profile"
    lines = [f"profile {name} {{"]
    for clause in PROFILE_CLAUSE_ORDER:
        lines.append(INDENT + clause.ljust(KEYWORD_COLUMN - 1) + " " + _variant(getattr(profile, clause)))
    return "\n".join(lines + ["}"]) + "\n"


def _variant(v: Variant) -> str:
    if not v.args:
        return v.variant
    return f"{v.variant}(" + ", ".join(f"{k} = {_resolved(x)}" for k, x in v.args.items()) + ")"


def _resolved(x: Any) -> str:
    if isinstance(x, Variant):
        return _variant(x)
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, tuple):
        return f"{x[0]}x{x[1]}"
    if isinstance(x, float):
        return repr(x)
    if isinstance(x, str):
        return x if x.isidentifier() else json.dumps(x)
    return str(x)
