"""The public API of the language, named like the ``json`` module.

``load``/``loads`` read a ``.mem`` file or text into a checked ``Document`` (raising
``SpecError`` with every diagnostic when it has errors); ``dump``/``dumps`` write one back
as formatted ``.mem`` text. ``analyze`` is the non-raising form ``validate`` uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from echodsl.errors import NotFound, SpecError
from echodsl.lang import ast
from echodsl.lang.checker import check
from echodsl.lang.diagnostics import Diagnostic, sort_key
from echodsl.lang.imports import ParseCache, read_tree
from echodsl.lang.model import Profile, Study
from echodsl.lang.parser import decode


@dataclass(frozen=True)
class LoadOptions:
    root: Path | None = None  # imports must stay inside it; default: the file's directory
    strict: bool = False  # treat warnings as errors


@dataclass(eq=False)
class Document:
    """A checked spec file: its resolved profiles (sweep members expanded) and studies.

    Two documents are equal when they resolve to the same profiles and studies; the
    syntax tree they came from (kept for ``dumps``) does not take part.
    """

    path: str | None
    profiles: dict[str, Profile]
    studies: dict[str, Study]
    members: dict[str, tuple[str, ...]]  # declared profile name -> its member names
    root_names: tuple[str, ...]  # names declared in this file (not its imports), in order
    warnings: list[Diagnostic] = field(default_factory=list)
    module: ast.Module | None = field(default=None, repr=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Document):
            return NotImplemented
        return self.profiles == other.profiles and self.studies == other.studies

    def own_profiles(self) -> list[Profile]:
        """The profiles declared in this file, sweep members in expansion order."""
        return [self.profiles[m] for n in self.root_names for m in self.members.get(n, ())]

    def profile(self, name: str) -> Profile:
        """A profile or sweep member by name; ``NotFound`` (a KeyError) naming the
        closest one otherwise, or the members when ``name`` is a sweep of several."""
        if name in self.profiles:
            return self.profiles[name]
        if name in self.members and len(self.members[name]) == 1:
            return self.profiles[self.members[name][0]]
        if name in self.members:
            raise NotFound("profile", name, members=self.members[name])
        raise NotFound("profile", name, list(self.profiles) + list(self.members))

    def select(self, name: str) -> list[Profile]:
        """A profile by name, or every member of a swept profile."""
        if name not in self.profiles and name in self.members:
            return [self.profiles[m] for m in self.members[name]]
        return [self.profile(name)]

    def study(self, name: str) -> Study:
        """A study by name; ``NotFound`` (a KeyError) naming the closest one otherwise."""
        if name in self.studies:
            return self.studies[name]
        raise NotFound("study", name, self.studies)


def analyze(text: str, *, path: Path | None = None, options: LoadOptions = LoadOptions(),
            cache: ParseCache | None = None) -> tuple[Document | None, list[Diagnostic]]:
    """Parse and check ``text``; never raises for problems in the spec. Calls that share a
    ``cache`` (a dict) parse each file once; the files must not change in between."""
    root = options.root or (path.parent if path is not None else Path.cwd())
    diagnostics: list[Diagnostic] = []
    files = read_tree(text, path.resolve() if path is not None else None, root, diagnostics, cache)
    if not files:
        return None, sorted(diagnostics, key=sort_key)
    checked, more = check(files)
    diagnostics = sorted(diagnostics + more, key=sort_key)
    doc = Document(
        path=str(path) if path is not None else None,
        profiles=checked.profiles,
        studies=checked.studies,
        members=checked.members,
        root_names=checked.root_names,
        warnings=[d for d in diagnostics if not d.is_error],
        module=files[0].module,
    )
    return doc, diagnostics


def analyze_file(path: Path, *, options: LoadOptions = LoadOptions(), cache: ParseCache | None = None
                 ) -> tuple[Document | None, list[Diagnostic]]:
    """``analyze`` for a file on disk. Raises ``OSError`` if it cannot be read."""
    if cache is not None and cache.get(Path(path).resolve(), (None,))[0] is not None:  # parsed already
        return analyze("", path=Path(path), options=options, cache=cache)
    text, diagnostics = decode(Path(path).read_bytes(), str(path))
    if text is None:
        return None, diagnostics
    return analyze(text, path=Path(path), options=options, cache=cache)


def _raise_on_errors(doc: Document | None, diagnostics: list[Diagnostic], strict: bool) -> Document:
    if doc is None or any(d.is_error or strict for d in diagnostics):
        raise SpecError(diagnostics)
    return doc


def loads(text: str, *, options: LoadOptions = LoadOptions()) -> Document:
    """Check ``.mem`` text (imports resolve against ``options.root`` or the working directory)."""
    return _raise_on_errors(*analyze(text, options=options), options.strict)


def load(path: str | Path, *, options: LoadOptions = LoadOptions()) -> Document:
    """Check a ``.mem`` file and its imports."""
    return _raise_on_errors(*analyze_file(Path(path), options=options), options.strict)


def dumps(obj: Document | Profile) -> str:
    """Formatted ``.mem`` text: a document's own file (comments kept, imports stay
    imports), or one resolved profile written out with every clause explicit."""
    from echodsl.lang.formatter import format_module, format_profile  # only writing needs it

    if isinstance(obj, Profile):
        return format_profile(obj)
    if obj.module is None:
        raise ValueError("this document has no source text to write")
    return format_module(obj.module)


def dump(obj: Document | Profile, fp: IO[str]) -> None:
    fp.write(dumps(obj))
