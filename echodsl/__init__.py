"""echodsl: a declarative language and compiler for memory designs in action world models.

    >>> import echodsl
    >>> doc = echodsl.loads("profile ctx { storage frames(k = 5) }")
    >>> doc.profile("ctx").storage["k"]
    5

``load``/``loads`` read specs, ``dump``/``dumps`` write them; the stages ``parse`` and
``check`` are importable for tools that want the syntax tree or the diagnostics.
Importing echodsl does not import torch.
"""

from echodsl.errors import EchoError, SpecError
from echodsl.lang.api import Document, LoadOptions, analyze, dump, dumps, load, loads
from echodsl.lang.checker import check
from echodsl.lang.diagnostics import Diagnostic, Severity
from echodsl.lang.model import Profile, Study, Variant
from echodsl.lang.parser import parse

__all__ = [
    "Diagnostic", "Document", "EchoError", "LoadOptions", "Profile", "Severity", "SpecError", "Study",
    "Variant", "analyze", "check", "dump", "dumps", "load", "loads", "parse",
]
