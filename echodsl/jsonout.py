"""Strict JSON for every ``--json`` output: JSON has no Infinity or NaN (Python's json
writes them anyway, and other parsers then reject the whole document), so a non-finite
number becomes null and a top-level ``"notes"`` list says where and what it was."""

from __future__ import annotations

import json
import math
from typing import Any


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
