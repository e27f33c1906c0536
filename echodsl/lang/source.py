"""Source text, positions and spans.

Positions are 1-based line and column (column counts characters, not bytes) plus a
0-based byte offset into the UTF-8 encoding; a span's end is exclusive. This mirrors
HCL's ``Pos``/``Range`` so that diagnostics can be rendered by editors and CI alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property


@dataclass(frozen=True, order=True)
class Pos:
    line: int
    column: int
    byte: int

    def to_json(self) -> dict:
        return {"line": self.line, "column": self.column, "byte": self.byte}


@dataclass(frozen=True)
class Span:
    file: str
    start: Pos
    end: Pos

    def to_json(self) -> dict:
        return {"filename": self.file, "start": self.start.to_json(), "end": self.end.to_json()}

    def __str__(self) -> str:
        return f"{self.file}:{self.start.line}:{self.start.column}"


@dataclass(frozen=True)
class SourceFile:
    """The text of one spec file and the maps between offsets and line/column."""

    path: str
    text: str
    _line_starts: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _line_start_bytes: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        starts, byte_starts, byte = [0], [0], 0
        for line in self.text.split("\n")[:-1]:
            byte += len(line.encode("utf-8", errors="surrogatepass")) + 1
            starts.append(starts[-1] + len(line) + 1)
            byte_starts.append(byte)
        object.__setattr__(self, "_line_starts", tuple(starts))
        object.__setattr__(self, "_line_start_bytes", tuple(byte_starts))

    @cached_property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    def pos(self, offset: int) -> Pos:
        """Position of a character offset (0-based) into the text."""
        offset = max(0, min(offset, len(self.text)))
        lo, hi = 0, len(self._line_starts) - 1
        while lo < hi:  # last line start <= offset
            mid = (lo + hi + 1) // 2
            if self._line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        line_start = self._line_starts[lo]
        in_line = self.text[line_start:offset].encode("utf-8", errors="surrogatepass")
        byte = self._line_start_bytes[lo] + len(in_line)
        return Pos(line=lo + 1, column=offset - line_start + 1, byte=byte)

    def span(self, start: int, end: int) -> Span:
        """Span of the character range ``[start, end)``."""
        return Span(self.path, self.pos(start), self.pos(max(start, end)))

    def line_text(self, line: int) -> str:
        if 1 <= line <= len(self.lines):
            return self.lines[line - 1]
        return ""
