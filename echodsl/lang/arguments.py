"""Checking one clause's value against the vocabulary table (``schema.py``).

A checked clause keeps the spans of everything it resolved, because later rules (the
"requires" table, ``ratio ≤ k``, sweep members) must point back at the text. Sweep sets
stay as ``SweepSet`` placeholders here; ``expand.py`` takes their cross product.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from echodsl.lang import ast
from echodsl.lang.diagnostics import Diagnostic, Note, did_you_mean, error
from echodsl.lang.schema import Param, default_value
from echodsl.lang.source import Span

INVALID: Any = object()  # a value that already produced a diagnostic

_TYPE_NAMES = {
    "int": "an integer", "float": "a number", "bool": "`true` or `false`",
    "size": "a size such as 8x8", "string": 'a string in "quotes"', "choice": "a name",
    "call": "a variant such as fov(...)",
}
_KIND_NAMES = {"int": "integer", "float": "number", "string": "string", "size": "size", "bool": "bool"}


@dataclass(frozen=True)
class SweepSet:
    """``{a, b, c}`` after checking: resolved members and their spans."""

    path: str  # e.g. "storage.k"
    members: tuple[Any, ...]
    spans: tuple[Span, ...]
    span: Span


@dataclass
class CheckedCall:
    """A variant with resolved arguments (defaults filled) and where each came from."""

    variant: str
    args: dict[str, Any]
    span: Span  # the whole call as written
    arg_spans: dict[str, Span] = field(default_factory=dict)  # only arguments written

    def to_plain(self) -> dict[str, Any]:
        return {"variant": self.variant, "args": {k: _plain(v) for k, v in self.args.items()}}


def _plain(v: Any) -> Any:
    return v.to_plain() if isinstance(v, CheckedCall) else v


def describe_value(node: ast.Value) -> str:
    if isinstance(node, ast.Literal):
        return f"{_KIND_NAMES[node.kind]} `{node.text}`"
    if isinstance(node, ast.Sweep):
        return "a sweep set"
    return f"`{node.name.name}`" if node.args is None else f"call `{node.name.name}(...)`"


class ArgumentChecker:
    """Checks calls and values, appending every problem to ``diagnostics``."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics

    def call(self, node: ast.Value, variants: dict[str, dict[str, Param]], path: str,
             what: str, allow_sweep: bool) -> CheckedCall | Any:
        """Check ``variant(args...)`` against ``variants``; ``what`` names it in messages."""
        if not isinstance(node, ast.Call):
            hint = "sweep sets stand for argument values, not whole clauses" if isinstance(node, ast.Sweep) else ""
            self._err("E105", f"{what} expects a variant name, found {describe_value(node)}", node.span,
                      hint=hint or did_you_mean("", tuple(variants)))
            return INVALID
        name = node.name.name
        if name not in variants:
            self._err("E102", f"unknown {what} variant `{name}`", node.name.span,
                      hint=did_you_mean(name, tuple(variants)))
            return INVALID
        params = variants[name]
        args: dict[str, Any] = {}
        spans: dict[str, Span] = {}
        ok = True
        for arg in node.args or ():
            key = arg.name.name
            if key not in params:
                self._err("E103", f"unknown argument `{key}` for {what} `{name}`", arg.name.span,
                          hint=did_you_mean(key, tuple(params)) or f"`{name}` takes no arguments")
                ok = False
                continue
            if key in spans:
                self._err("E108", f"argument `{key}` given twice", arg.name.span,
                          notes=(Note("first given here", spans[key]),))
                ok = False
                continue
            spans[key] = arg.name.span
            value = self.value(arg.value, params[key], f"{path}.{key}", key, allow_sweep)
            ok = ok and value is not INVALID
            args[key] = value
        for key, param in params.items():
            if key in args:
                continue
            if param.required:
                self._err("E104", f"{what} `{name}` needs argument `{key}`", node.span,
                          hint=f"write {name}({key} = ...)" + (f": {param.doc}" if param.doc else ""))
                ok = False
            else:
                args[key] = _default_call(param) if param.type == "call" else default_value(param)
        if not ok:
            return INVALID
        return CheckedCall(name, args, node.span, spans)

    def value(self, node: ast.Value, param: Param, path: str, key: str, allow_sweep: bool) -> Any:
        if isinstance(node, ast.Sweep):
            return self._sweep(node, param, path, key, allow_sweep)
        if param.type == "call":
            return self.call(node, param.variants, path, f"`{key}`", allow_sweep)
        if param.type == "choice":
            if isinstance(node, ast.Call) and node.args is None:
                if node.name.name in param.choices:
                    return node.name.name
                self._err("E106", f"`{node.name.name}` is not a valid `{key}`", node.span,
                          hint=did_you_mean(node.name.name, param.choices))
                return INVALID
            return self._type_error(node, param, key)
        if not isinstance(node, ast.Literal):
            return self._type_error(node, param, key)
        if param.type == "float" and node.kind in ("int", "float"):
            value: Any = float(node.value)  # the one coercion the language makes
        elif param.type == node.kind:
            value = node.value
        else:
            return self._type_error(node, param, key)
        if param.type == "size" and min(value) < 1:
            self._err("E106", f"`{key}` = {node.text} is out of range", node.span,
                      hint="each side of a size must be ≥ 1")
            return INVALID
        if param.range is not None and param.type in ("int", "float") and not param.range.contains(value):
            self._err("E106", f"`{key}` = {node.text} is out of range", node.span,
                      hint=f"`{key}` must be {param.range.describe()}")
            return INVALID
        return value

    def _sweep(self, node: ast.Sweep, param: Param, path: str, key: str, allow_sweep: bool) -> Any:
        if not allow_sweep:
            self._err("E118", "sweep sets are only allowed in profile arguments", node.span,
                      hint="a study fixes its setup; sweep the profile instead")
            return INVALID
        members: list[Any] = []
        spans: list[Span] = []
        kinds = set()
        ok = True
        for member in node.members:
            if isinstance(member, ast.Sweep):
                self._err("E118", "sweep sets cannot be nested", member.span,
                          hint="write one flat set; several sweeps in a profile expand to their product")
                ok = False
                continue
            kinds.add(member.kind if isinstance(member, ast.Literal) else "name")
            value = self.value(member, param, path, key, allow_sweep=False)
            if value is INVALID:
                ok = False
                continue
            plain = _plain(value)
            if plain in [_plain(m) for m in members]:
                first = spans[[_plain(m) for m in members].index(plain)]
                self._err("E117", "sweep member listed twice", member.span,
                          notes=(Note("first listed here", first),), hint="members of a sweep set must be distinct")
                ok = False
                continue
            members.append(value)
            spans.append(member.span)
        if len(kinds) > 1:
            self._err("E117", "sweep members must all be of one type", node.span,
                      hint="found " + " and ".join(sorted(kinds)))
            return INVALID
        return SweepSet(path, tuple(members), tuple(spans), node.span) if ok else INVALID

    def _type_error(self, node: ast.Value, param: Param, key: str) -> Any:
        hint = ""
        if param.type == "choice":
            hint = "expected one of: " + ", ".join(f"`{c}`" for c in param.choices)
        elif isinstance(node, ast.Literal) and node.kind == "float" and param.type == "int":
            hint = f"write `{key} = {int(node.value)}`" if float(node.value).is_integer() else ""
        self._err("E105", f"`{key}` expects {_TYPE_NAMES[param.type]}, found {describe_value(node)}",
                  node.span, hint=hint)
        return INVALID

    def _err(self, code: str, summary: str, span: Span, *, hint: str = "", notes: tuple = ()) -> None:
        self.diagnostics.append(error(code, summary, span, hint=hint, notes=notes))


def _default_call(param: Param) -> CheckedCall:
    d = default_value(param)
    return CheckedCall(d["variant"], dict(d["args"]), span=None)  # type: ignore[arg-type]
