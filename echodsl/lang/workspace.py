"""Validating and formatting files on disk: what ``echodsl validate`` and ``fmt`` call."""

from __future__ import annotations

import difflib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from echodsl.errors import UsageError
from echodsl.lang.api import Document, LoadOptions, analyze_file
from echodsl.lang.diagnostics import Diagnostic
from echodsl.lang.imports import ParseCache
from echodsl.lang.parser import decode, parse


def spec_files(paths: list[Path]) -> list[tuple[Path, Path]]:
    """Expand directories to the ``.mem`` files under them (sorted), each with its import
    root: the directory argument, or the directory of a file named directly."""
    out: list[tuple[Path, Path]] = []
    for path in paths:
        if path.is_dir():
            out.extend((p, path) for p in sorted(path.rglob("*.mem")) if p.is_file())
        elif path.is_file():
            out.append((path, path.parent))
        else:
            raise UsageError(f"no such file or directory: {path}")
    return out


@dataclass
class Validation:
    files: list[Path] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    documents: dict[Path, Document] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return sum(d.is_error for d in self.diagnostics)

    @property
    def warnings(self) -> int:
        return len(self.diagnostics) - self.errors


def validate_paths(paths: list[Path], *, root: Path | None = None) -> Validation:
    """Check every spec under ``paths``; a diagnostic seen from two files is listed once."""
    files = spec_files(paths)
    result = Validation(files=[f for f, _ in files])
    seen = set()
    parsed: ParseCache = {}  # each file parsed once, however many specs import it
    for path, file_root in files:
        try:
            doc, diagnostics = analyze_file(path, options=LoadOptions(root=root or file_root), cache=parsed)
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
        if doc is not None:
            result.documents[path] = doc
        for d in diagnostics:
            key = (d.code, d.summary, d.span)
            if key not in seen:
                seen.add(key)
                result.diagnostics.append(d)
    return result


@dataclass
class FormatResult:
    path: Path
    changed: bool
    diff: str
    diagnostics: list[Diagnostic]


def format_file(path: Path, *, write: bool) -> FormatResult:
    """Format one file; writes it (atomically) only if ``write`` and it parsed and changed."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    text, diagnostics = decode(data, str(path))
    module = None
    if text is not None:
        module, diagnostics = parse(text, str(path))
    if module is None:
        return FormatResult(path, False, "", diagnostics)
    from echodsl.lang.formatter import format_module  # fmt needs it; validate does not

    formatted = format_module(module)
    if formatted == text:
        return FormatResult(path, False, "", [])
    diff = "".join(difflib.unified_diff(text.splitlines(keepends=True), formatted.splitlines(keepends=True),
                                        fromfile=f"{path} (original)", tofile=f"{path} (formatted)"))
    if write:
        _atomic_write(path, formatted)
    return FormatResult(path, True, diff, [])


def _atomic_write(path: Path, text: str) -> None:
    # Write beside the file and rename, so an interrupted fmt never leaves half a spec.
    # Through a symlink: the file it points to is rewritten and the link stays a link.
    # The new file keeps the old one's permission bits (mkstemp would leave 0600).
    target = Path(os.path.realpath(path))
    mode = target.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
