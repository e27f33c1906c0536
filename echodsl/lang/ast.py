"""The syntax tree of a ``.mem`` file: what was written, with a span on every node.

The tree is a faithful picture of the text (nothing resolved, no defaults filled); the
checker turns it into the resolved ``Profile``/``Study`` models. ``text`` on literals is
the token as written, so the formatter can keep ``5e-5`` as ``5e-5``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from echodsl.lang.source import Span


@dataclass(frozen=True)
class Ident:
    name: str
    span: Span


@dataclass(frozen=True)
class Literal:
    kind: str  # "int" | "float" | "string" | "size" | "bool"
    value: object  # int | float | str | tuple[int, int] | bool
    text: str
    span: Span


@dataclass(frozen=True)
class Arg:
    name: Ident
    value: "Value"
    span: Span


@dataclass(frozen=True)
class Call:
    """``name`` or ``name(arg = value, ...)``; ``args`` is None when written without parens."""

    name: Ident
    args: tuple[Arg, ...] | None
    span: Span


@dataclass(frozen=True)
class Sweep:
    members: tuple["Value", ...]
    span: Span


Value = Union[Call, Literal, Sweep]


@dataclass(frozen=True)
class Clause:
    keyword: Ident
    values: tuple[Value, ...]
    span: Span


@dataclass(frozen=True)
class Import:
    path: Literal
    span: Span


@dataclass(frozen=True)
class ProfileDecl:
    name: Ident
    extends: Ident | None
    clauses: tuple[Clause, ...]
    span: Span


@dataclass(frozen=True)
class StudyDecl:
    name: Ident
    clauses: tuple[Clause, ...]
    span: Span


Item = Union[Import, ProfileDecl, StudyDecl]


@dataclass(frozen=True)
class Comment:
    text: str  # including the leading '#'
    span: Span


@dataclass(frozen=True)
class Module:
    """One parsed file."""

    path: str
    items: tuple[Item, ...]
    comments: tuple[Comment, ...]
