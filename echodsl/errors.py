"""The exception hierarchy of echodsl: one root, one class per phase.

Exceptions carry data and build their message in ``__str__``; the CLI turns them into
exit codes and readable output (a traceback only with ``--debug``).
"""

from __future__ import annotations

import difflib
from typing import Iterable, Protocol


class Diagnostic(Protocol):
    """What a ``SpecError`` reads of each problem (``echodsl.lang.diagnostics.Diagnostic``;
    the language layer builds on this module, never the other way round)."""

    span: object
    code: str
    summary: str

    @property
    def is_error(self) -> bool: ...


def did_you_mean(given: str, candidates: list[str] | tuple[str, ...]) -> str:
    """A hint naming the closest candidate, or listing them all when none is close."""
    close = difflib.get_close_matches(given, list(candidates), n=1, cutoff=0.6)
    if close:
        return f"did you mean `{close[0]}`?"
    if not candidates:
        return ""
    return "expected one of: " + ", ".join(f"`{c}`" for c in candidates)


class EchoError(Exception):
    """Root of every error echodsl raises on purpose."""


class SpecError(EchoError, ValueError):
    """A spec did not parse or check. ``diagnostics`` holds every problem found."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__(diagnostics)
        self.diagnostics = list(diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    def __str__(self) -> str:
        errors = self.errors
        if not errors:
            return "spec has no errors"
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return f"{first.span}: {first.code}: {first.summary}{more}"


class UsageError(EchoError):
    """A command was called with arguments that cannot work (exit code 2)."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class NotFound(EchoError, KeyError):
    """A name looked up among others of its kind (a profile, a study) is not there.

    ``kind`` and ``name`` say what was looked for and ``known`` what there is. When the name
    is a sweep of several profiles, ``members`` lists them: a member must be named instead.
    A ``KeyError`` too, so code that looks names up like dictionary keys keeps working; its
    one argument is the readable message.
    """

    def __init__(self, kind: str, name: str, known: Iterable[str] = (), *, members: Iterable[str] = ()):
        self.kind = kind
        self.name = name
        self.known = tuple(dict.fromkeys(known))  # in order, once each
        self.members = tuple(members)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        if self.members:
            return (f"`{self.name}` is a sweep of {len(self.members)} {self.kind}s; name one member, "
                    f"e.g. `{self.members[0]}`")
        hint = did_you_mean(self.name, self.known)
        return f"no {self.kind} `{self.name}`" + (f"; {hint}" if hint else "")

    def __str__(self) -> str:
        return self.message


class BuildError(EchoError):
    """A valid profile could not be lowered or built into modules; ``profile`` names it
    when the failure belongs to one profile (not, say, to a backbone config file)."""

    def __init__(self, message: str, profile: str | None = None):
        super().__init__(message)
        self.message = message
        self.profile = profile

    def __str__(self) -> str:
        return f"profile {self.profile}: {self.message}" if self.profile else self.message


class DataError(EchoError):
    """A dataset on disk is missing, corrupt or inconsistent; names the file."""

    def __init__(self, message: str, path: str | None = None):
        super().__init__(message)
        self.message = message
        self.path = path

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class RuntimeFailure(EchoError):
    """Training, checkpointing or sampling failed in a way the user can act on."""


class StoreError(EchoError):
    """The results store could not be opened, migrated or written."""


class JudgeError(EchoError):
    """An open-domain judge could not score a case (its endpoint failed, or its answer is unusable)."""
