"""A recorded design's fields by dot path (torch-free): ``storage`` is the storage variant,
``storage.k`` its argument ``k``, ``storage.select.samples`` an argument of a nested
variant.

These read a canonical profile as the results store keeps it (plain JSON, possibly from
an older version of the language), so a comparison groups or sorts by any field the user
names; code that reads a known argument reads ``Profile.settings`` instead.
"""

from __future__ import annotations

from typing import Any

from echodsl.lang.schema import PROFILE_CLAUSE_ORDER

CLAUSES = PROFILE_CLAUSE_ORDER


def spec_field(canonical: dict[str, Any], path: str) -> Any:
    """The value at ``path`` (``storage``, ``storage.k``, ``storage.select.samples``), or None."""
    node: Any = canonical.get(path.split(".")[0])
    for part in path.split(".")[1:]:
        if not isinstance(node, dict):
            return None
        node = node.get("args", {}).get(part)
    if isinstance(node, dict):
        return node.get("variant")
    return tuple(node) if isinstance(node, list) else node


def flatten_spec(canonical: dict[str, Any]) -> dict[str, Any]:
    """Every field of a canonical spec by dot path, in clause and argument order."""
    out: dict[str, Any] = {}

    def walk(prefix: str, node: dict[str, Any]) -> None:
        out[prefix] = node["variant"]
        for name, value in node.get("args", {}).items():
            if isinstance(value, dict) and "variant" in value:
                walk(f"{prefix}.{name}", value)
            else:
                out[f"{prefix}.{name}"] = tuple(value) if isinstance(value, list) else value

    for clause in CLAUSES:
        if clause in canonical:
            walk(clause, canonical[clause])
    return out
