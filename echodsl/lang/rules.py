"""Rules across clauses of one (expanded) profile: the "requires" column of the language reference (docs/language.md).

A rule involving two places is reported at the later one, with a note at the other:
a clause written in the profile itself is later than one it inherited; within one
declaration the one further down the file is later.
"""

from __future__ import annotations

from typing import Any, Protocol

from echodsl.lang.arguments import CheckedCall
from echodsl.lang.diagnostics import Diagnostic, Note, error
from echodsl.lang.expand import Binding
from echodsl.lang.schema import (
    COMPRESSION_REQUIRES,
    DEFAULT_READOUT,
    PROFILE_CLAUSE_ORDER,
    READOUT_REQUIRES,
    RECURRENCE_REQUIRES,
    default_clause,
)
from echodsl.lang.source import Span


class LocatedClause(Protocol):
    call: CheckedCall
    keyword_span: Span
    depth: int


def check_member(name: str, bindings: tuple[Binding, ...], clauses: dict[str, LocatedClause],
                 diagnostics: list[Diagnostic]) -> dict[str, dict[str, Any]] | None:
    """The member's resolved clauses as plain dicts, or None if a rule failed."""
    before = len(diagnostics)
    storage = clauses.get("storage")
    storage_variant = storage.call.variant if storage else "none"

    def needs(clause: str, allowed: tuple[str, ...], what: str) -> None:
        c = clauses.get(clause)
        if c is None or c.call.variant == "none" or storage_variant in allowed:
            return
        wanted = " or ".join(f"`storage {a}`" for a in allowed)
        span, notes = _later(c.call.span, c.depth, storage.call.span if storage else None,
                             storage.depth if storage else None, "storage is set here")
        diagnostics.append(error("E109", f"{what} `{c.call.variant}` requires {wanted}", span, notes=notes,
                                 detail=f"this profile has `storage {storage_variant}`",
                                 hint=f"change the storage, or remove the {clause} clause"))

    needs("compression", COMPRESSION_REQUIRES, "compression")
    needs("recurrence", RECURRENCE_REQUIRES, "recurrence")
    readout = clauses.get("readout")
    if readout is not None and readout.call.variant in READOUT_REQUIRES:
        needs("readout", READOUT_REQUIRES[readout.call.variant], "read-out")

    k = _history_rules(name, bindings, storage, diagnostics) if storage is not None else None
    compression = clauses.get("compression")
    # Only a storage that keeps k frames can be pooled (a storage without k is rule E109's).
    if compression is not None and "ratio" in compression.call.args and k is not None:
        ratio = compression.call.args["ratio"]
        if ratio > k:
            ratio_span = _value_span(compression.call, "ratio", bindings, "compression.ratio")
            k_span = _value_span(storage.call, "k", bindings, "storage.k")
            span, notes = _later(ratio_span, compression.depth, k_span, storage.depth, f"k = {k} is set here")
            member = f" (in `{name}`)" if bindings else ""
            diagnostics.append(error("E106", f"compression ratio {ratio} exceeds storage k = {k}{member}", span,
                                     notes=notes, hint="pooling r:1 needs at least r stored frames: 2 ≤ ratio ≤ k"))
    if len(diagnostics) > before:
        return None
    resolved = {c: clauses[c].call.to_plain() if c in clauses else default_clause(c) for c in PROFILE_CLAUSE_ORDER}
    if k is not None:
        resolved["storage"]["args"]["k"] = k
    if "readout" not in clauses:
        resolved["readout"] = {"variant": DEFAULT_READOUT[storage_variant]["variant"],
                               "args": dict(DEFAULT_READOUT[storage_variant]["args"])}
    return resolved


def _history_rules(name: str, bindings: tuple[Binding, ...], storage: LocatedClause,
                   diagnostics: list[Diagnostic]) -> int | None:
    """The storage's effective k (``tail(n)`` fixes k = n + 1), checking that a carried
    state trains on a contiguous history; None for a storage without a history."""
    args = storage.call.args
    if "k" not in args:
        return None
    k, select = args["k"], args["select"]
    member = f" (in `{name}`)" if bindings else ""
    if select.variant == "tail":
        n = select.args["n"]
        if "k" in storage.call.arg_spans and k != n + 1:
            span = _value_span(storage.call, "k", bindings, "storage.k")
            diagnostics.append(error("E127", f"k = {k} conflicts with select = tail(n = {n}){member}", span,
                                     hint=f"tail(n) reads the n frames before the segment, so k = n + 1 = {n + 1}; "
                                          "drop k or make it match"))
        k = n + 1
    if args.get("carry") and select.variant not in ("recent", "tail"):
        span = _value_span(storage.call, "carry", bindings, "storage.carry")
        diagnostics.append(error("E128", f"a carried state needs a contiguous history, not select = "
                                         f"{select.variant}{member}", span,
                                 detail="with carry = true a rollout folds every generated frame in order, so "
                                        "training must scan the frames just before the segment",
                                 hint="add select = recent (the k - 1 frames before the segment) or select = tail(n = ...)"))
    return k


def _value_span(call: CheckedCall, arg: str, bindings: tuple[Binding, ...], path: str) -> Span:
    for b in bindings:
        if b.path == path:
            return b.span
    return call.arg_spans.get(arg, call.span)


def _later(a: Span, a_depth: int, b: Span | None, b_depth: int | None, note: str) -> tuple[Span, tuple[Note, ...]]:
    """Of two places, the later (primary) one and a note pointing at the other."""
    if b is None:
        return a, ()
    a_later = a_depth < b_depth or (a_depth == b_depth and (a.file, a.start.byte) >= (b.file, b.start.byte))
    if a_later:
        return a, (Note(note, b),)
    return b, (Note("the conflicting value is here", a),)
