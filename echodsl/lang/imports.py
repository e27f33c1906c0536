"""Reading a spec file and everything it imports, transitively.

``import "rel/path.mem"`` resolves relative to the importing file; the resolved path must
stay inside the root directory (the directory of the file named on the command line,
or ``--root``). Missing files, escapes and cycles are diagnostics at the import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from echodsl.lang import ast
from echodsl.lang.diagnostics import Diagnostic, Note, error
from echodsl.lang.parser import decode, parse


@dataclass(frozen=True)
class ParsedFile:
    path: Path | None  # absolute path; None for text given directly
    module: ast.Module


# absolute path -> (its syntax tree or None, the diagnostics of reading and parsing it).
# One per run of ``validate``, so a file imported by many specs is read and parsed once.
ParseCache = dict[Path, tuple["ast.Module | None", list[Diagnostic]]]


def display_path(path: Path) -> str:
    """How a file is named in diagnostics: relative to the working directory when inside it."""
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


def _shown(path: Path) -> str:
    rel = display_path(path)
    return str(path) if rel.startswith("..") else rel


def read_tree(text: str, path: Path | None, root: Path, diagnostics: list[Diagnostic],
              cache: ParseCache | None = None) -> list[ParsedFile]:
    """Parse ``text`` (the file at ``path``, or a string) and every file it imports.

    Returns the files that parsed, the first one first; problems are appended to
    ``diagnostics``. Each file is read once even when imported from several places,
    and once per ``cache`` (shared across calls) however many files import it.
    """
    root = root.resolve()
    cache = {} if cache is None else cache
    if path is not None and path in cache:
        module, diags = cache[path]
    else:
        module, diags = parse(text, _shown(path) if path is not None else "<string>")
        if path is not None:
            cache[path] = (module, diags)
    diagnostics.extend(diags)
    if module is None:
        return []
    files = [ParsedFile(path, module)]
    seen = {path} if path is not None else set()
    _follow(files[0], root, [path] if path is not None else [], seen, files, diagnostics, {}, cache)
    return files


def _read(target: Path) -> tuple[ast.Module | None, list[Diagnostic]]:
    """An imported file (known to exist) -> its tree, or the diagnostics of decoding/parsing it."""
    text, diags = decode(target.read_bytes(), _shown(target))
    if text is None:
        return None, diags
    return parse(text, _shown(target))


def _follow(parsed: ParsedFile, root: Path, stack: list[Path], seen: set[Path], files: list[ParsedFile],
            diagnostics: list[Diagnostic], import_sites: dict[Path, ast.Import], cache: ParseCache) -> None:
    base = parsed.path.parent if parsed.path is not None else root
    for item in parsed.module.items:
        if not isinstance(item, ast.Import):
            continue
        target = (base / str(item.path.value)).resolve()
        if not target.is_relative_to(root):
            diagnostics.append(error("E115", f"import of `{item.path.value}` leaves the root directory",
                                     item.path.span, detail=f"it resolves to {display_path(target)}, outside {display_path(root)}",
                                     hint="move the file under the root, or widen it with --root DIR"))
            continue
        if target in stack:
            first = import_sites.get(target)
            notes = (Note("the cycle starts at this import", first.path.span),) if first else ()
            diagnostics.append(error("E116", f"import cycle: `{item.path.value}` imports this file again",
                                     item.path.span, notes=notes,
                                     hint="move the shared profiles into a third file that both import"))
            continue
        if target in seen:
            continue
        if not target.is_file():
            diagnostics.append(error("E114", f"imported file `{item.path.value}` not found", item.path.span,
                                     detail=f"looked for {_shown(target)}",
                                     hint="import paths are relative to the importing file"))
            continue
        if target not in cache:
            try:
                cache[target] = _read(target)
            except OSError as exc:
                diagnostics.append(error("E114", f"imported file `{item.path.value}` cannot be read", item.path.span,
                                         detail=exc.strerror or str(exc)))
                continue
        seen.add(target)
        module, diags = cache[target]
        diagnostics.extend(diags)
        if module is None:
            continue
        child = ParsedFile(target, module)
        files.append(child)
        _follow(child, root, stack + [target], seen, files, diagnostics, {**import_sites, target: item}, cache)
