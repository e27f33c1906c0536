"""echodsl: a declarative language and compiler for memory designs in action world models.

    >>> import echodsl
    >>> doc = echodsl.loads("profile ctx { storage frames(k = 5) }")
    >>> doc.profile("ctx").settings.storage.k
    5

``load``/``loads`` read specs, ``dump``/``dumps`` write them; the stages ``parse`` and
``check`` are importable for tools that want the syntax tree or the diagnostics.
Importing echodsl does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# name -> the module that defines it. Imported on first use (PEP 562), so that a command
# that only needs, say, the results store does not pay for building the language layer.
_EXPORTS = {
    "EchoError": "echodsl.errors", "SpecError": "echodsl.errors", "NotFound": "echodsl.errors",
    "Document": "echodsl.lang.api", "LoadOptions": "echodsl.lang.api", "analyze": "echodsl.lang.api",
    "dump": "echodsl.lang.api", "dumps": "echodsl.lang.api", "load": "echodsl.lang.api",
    "loads": "echodsl.lang.api",
    "check": "echodsl.lang.checker",
    "Diagnostic": "echodsl.lang.diagnostics", "Severity": "echodsl.lang.diagnostics",
    "Profile": "echodsl.lang.model", "Study": "echodsl.lang.model", "Variant": "echodsl.lang.model",
    "parse": "echodsl.lang.parser",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'echodsl' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:
    from echodsl.errors import EchoError, SpecError
    from echodsl.lang.api import Document, LoadOptions, analyze, dump, dumps, load, loads
    from echodsl.lang.checker import check
    from echodsl.lang.diagnostics import Diagnostic, Severity
    from echodsl.lang.model import Profile, Study, Variant
    from echodsl.lang.parser import parse
