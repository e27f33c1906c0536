"""Sweep expansion: a profile with sweep sets stands for the cross product of them.

Members are named ``name[storage.k=5]`` (several: ``name[storage.k=5,compression.ratio=2]``),
bindings listed in clause order and, within a clause, in the vocabulary's argument order,
so the name does not depend on how the arguments were written.
"""

from __future__ import annotations

import itertools
import math
import json
from dataclasses import dataclass
from typing import Any

from echodsl.lang.arguments import CheckedCall, SweepSet
from echodsl.lang.schema import PROFILE_CLAUSES
from echodsl.lang.source import Span


@dataclass(frozen=True)
class Binding:
    path: str
    value: Any
    span: Span


# One profile is one training run per seed: a cross product beyond this is a typo or a
# job for several profiles, and expanding it would exhaust memory before any check ran.
MAX_SWEEP_MEMBERS = 1024
# A member's name becomes part of a run directory name (plus seed and hashes) and must
# stay under the file systems' 255-byte limit.
MAX_NAME_BYTES = 200


def member_count(sweeps: list[SweepSet]) -> int:
    """How many profiles the cross product of ``sweeps`` stands for (without building it)."""
    return math.prod(len(s.members) for s in sweeps)


def find_sweeps(clauses: dict[str, CheckedCall]) -> list[SweepSet]:
    found: list[SweepSet] = []
    for clause in PROFILE_CLAUSES:
        if clause in clauses:
            _collect(clauses[clause], found)
    return found


def _collect(call: CheckedCall, found: list[SweepSet]) -> None:
    for value in call.args.values():
        if isinstance(value, SweepSet):
            found.append(value)
        elif isinstance(value, CheckedCall):
            _collect(value, found)


def expand(clauses: dict[str, CheckedCall]) -> list[tuple[tuple[Binding, ...], dict[str, CheckedCall]]]:
    """Every member: its bindings and its concrete clauses (no SweepSet left)."""
    sweeps = find_sweeps(clauses)
    if not sweeps:
        return [((), clauses)]
    members = []
    for choice in itertools.product(*(range(len(s.members)) for s in sweeps)):
        bindings = tuple(Binding(s.path, s.members[i], s.spans[i]) for s, i in zip(sweeps, choice))
        chosen = {id(s): s.members[i] for s, i in zip(sweeps, choice)}
        members.append((bindings, {k: _substitute(v, chosen) for k, v in clauses.items()}))
    return members


def _substitute(call: CheckedCall, chosen: dict[int, Any]) -> CheckedCall:
    args = {}
    for key, value in call.args.items():
        if isinstance(value, SweepSet):
            value = chosen[id(value)]
        if isinstance(value, CheckedCall):
            value = _substitute(value, chosen)
        args[key] = value
    return CheckedCall(call.variant, args, call.span, call.arg_spans)


def member_name(base: str, bindings: tuple[Binding, ...]) -> str:
    if not bindings:
        return base
    return base + "[" + ",".join(f"{b.path}={format_value(b.value)}" for b in bindings) + "]"


def format_value(value: Any) -> str:
    """A value as it would be written in a .mem file (used in member names)."""
    if isinstance(value, CheckedCall):
        if not value.args:
            return value.variant
        inner = ",".join(f"{k}={format_value(v)}" for k, v in sorted(value.args.items()))
        return f"{value.variant}({inner})"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return f"{value[0]}x{value[1]}"
    if isinstance(value, str) and not value.isidentifier():
        return json.dumps(value)
    return str(value)
