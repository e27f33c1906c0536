"""The one rule for naming a results store, used by every command that takes ``--store``.

A store is named by a path (``results.db``), a SQLite URL with a relative
(``sqlite:///results.db``) or absolute (``sqlite:////data/results.db``) path, the same
through ``ECHODSL_STORE``, or a server URL (``postgresql+psycopg://...``). Every SQLite
form is turned into one absolute URL here, so that a study's workers (other processes,
other working directories) open the same file, and so that "does this store exist yet?"
has one answer whichever form the user typed. Imports nothing heavy (no SQLAlchemy).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from echodsl.errors import StoreError

_SQLITE_FILE = "sqlite:///"  # SQLAlchemy: three slashes, then a relative or absolute path


@dataclass(frozen=True)
class StoreName:
    """What a ``--store`` value names: ``url`` to open, ``file`` behind it (SQLite on
    disk; None for a server or an in-memory database)."""

    url: str
    file: Path | None

    @property
    def exists(self) -> bool:
        """Whether there is a store to read: a server is assumed to be there (connecting
        says otherwise); a SQLite file must exist."""
        return self.file is None or self.file.exists()


def name_store(value: str | os.PathLike) -> StoreName:
    """The store ``value`` names (see the module docstring). StoreError for a directory, a
    file in a directory that does not exist, or an empty name."""
    text = os.fspath(value).strip()
    if not text:
        raise StoreError("empty store name: pass a file path or a database URL")
    if "://" not in text:
        return _file(Path(text))
    scheme, rest = text.split("://", 1)
    if not scheme.startswith("sqlite") or not text.startswith(scheme + ":///") or is_in_memory(text):
        return StoreName(text, None)
    path, query = rest[1:], ""
    if "?" in path:
        path, query = path.split("?", 1)
        query = "?" + query
    name = _file(Path(path))
    return StoreName(f"{scheme}:///{name.file}{query}", name.file)


def _file(path: Path) -> StoreName:
    path = path.expanduser().resolve()
    if path.is_dir():
        raise StoreError(f"{path}: is a directory, not a store file")
    if not path.parent.is_dir():
        raise StoreError(f"{path.parent}: no such directory for the store file")
    return StoreName(_SQLITE_FILE + str(path), path)


def is_in_memory(url: str) -> bool:
    """True for SQLite URLs that keep nothing once the process ends (``sqlite://``,
    ``sqlite:///:memory:``, ``mode=memory``)."""
    if not url.startswith("sqlite"):
        return False
    rest = url.split("://", 1)[-1]
    return rest in ("", "/", "/:memory:") or rest.startswith("/:memory:?") or "mode=memory" in rest
