"""How the language describes one argument of a variant: type, default, range (torch-free).

The language schema (``echodsl.lang.schema``) and the memory families, which declare their
own storage arguments, both describe arguments with ``Param``; it lives here, below both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Range:
    """Numeric bounds; ``None`` means unbounded on that side."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False  # True: lo itself is excluded
    hi_open: bool = False

    def contains(self, v: float) -> bool:
        if self.lo is not None and (v < self.lo or (self.lo_open and v == self.lo)):
            return False
        if self.hi is not None and (v > self.hi or (self.hi_open and v == self.hi)):
            return False
        return True

    def describe(self) -> str:
        parts = []
        if self.lo is not None:
            parts.append(f"{'>' if self.lo_open else '≥'} {_num(self.lo)}")
        if self.hi is not None:
            parts.append(f"{'<' if self.hi_open else '≤'} {_num(self.hi)}")
        return " and ".join(parts)


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


@dataclass(frozen=True)
class Param:
    """One argument of a variant.

    ``type`` is one of ``int``, ``float``, ``bool``, ``size``, ``string``, ``choice`` (a
    bare name out of ``choices``) or ``call`` (a nested ``variant(...)`` out of ``variants``).
    """

    type: str
    default: Any = REQUIRED
    range: Range | None = None
    choices: tuple[str, ...] = ()
    variants: dict[str, dict[str, "Param"]] = field(default_factory=dict)
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


AT_LEAST_1 = Range(lo=1)
POSITIVE = Range(lo=0, lo_open=True)
