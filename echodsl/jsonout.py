"""Strict JSON for every ``--json`` output.

Each document is an object that starts with ``format_version`` (:func:`envelope`);
consumers ignore fields they do not know, and an additive change bumps the minor version.
JSON has no Infinity or NaN (Python's json writes them anyway, and other parsers then
reject the whole document), so :func:`dumps` writes a non-finite number as null and a
top-level ``"notes"`` list says where and what it was.
"""

from __future__ import annotations

import json
import math
from typing import Any, Mapping

FORMAT_VERSION = "1.0"
# ``data check``'s report has had fields added since 1.0 (additive, hence the minor bump).
DATA_CHECK_FORMAT_VERSION = "1.1"


def envelope(data: Mapping[str, Any] | None = None, /, *, version: str = FORMAT_VERSION,
             **fields: Any) -> dict[str, Any]:
    """``{"format_version": version, **data, **fields}``: one ``--json`` document.

    ``data`` may carry a ``format_version`` of its own (a document built elsewhere); it
    must then be ``version``, since two versions in one document would be a bug.
    """
    data = data or {}
    own = data.get("format_version", version)
    if own != version:
        raise ValueError(f"document says format_version {own!r}, expected {version!r}")
    return {"format_version": version, **data, **fields}


def finite(obj: Any, notes: list[str], path: str = "") -> Any:
    """``obj`` with every non-finite float replaced by None (one note per replacement)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        notes.append(f"{path or '/'}: {obj!r} is not a JSON number; written as null")
        return None
    if isinstance(obj, dict):
        return {k: finite(v, notes, f"{path}/{k}") for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v, notes, f"{path}/{i}") for i, v in enumerate(obj)]
    return obj


def dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` that never writes Infinity/NaN (see the module docstring)."""
    notes: list[str] = []
    clean = finite(obj, notes)
    if notes and isinstance(clean, dict):
        clean["notes"] = [*clean.get("notes", []), *notes]
    return json.dumps(clean, allow_nan=False, **kwargs)
