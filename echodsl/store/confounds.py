"""Confounds: what, besides the memory representation, differs between compared designs.

A comparison of memory designs is controlled only when every design reads the same history
(``storage.k``, ``storage.select``, ``storage.carry``), has the same action conditioning
and the same memory placement, and was trained with the same recipe; the designs may
differ only in how they store, compress and read that history. ``results compare``,
``study`` and the report warn, naming each field, when that is not so (``--strict`` makes
it an error).

A field is compared among the designs that have it: the anchor-only design reads no
history, and only a joint read-out has a placement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from echodsl.lang.fields import spec_field
from echodsl.lang.history import history_of, select_text

FIELDS = ("storage.k", "storage.select", "storage.carry", "action", "readout.placement", "recipe")


@dataclass(frozen=True)
class Confound:
    """One field on which the compared designs disagree: design label -> value."""

    field: str
    values: dict[str, str]

    def message(self) -> str:
        by_value: dict[str, list[str]] = {}
        for design, value in self.values.items():
            by_value.setdefault(value, []).append(design)
        parts = "; ".join(f"{', '.join(designs)}: {value}" for value, designs in by_value.items())
        return f"designs differ in {self.field}, not only in memory representation ({parts})"

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "values": dict(self.values)}


def field_value(canonical: dict[str, Any], field: str) -> str | None:
    """The value of one confound ``field`` of a canonical profile, as text; None where the
    design has no such field."""
    history = history_of(canonical)
    if field.startswith("storage."):
        if history is None:
            return None
        name = field.removeprefix("storage.")
        return select_text(history["select"]) if name == "select" else str(history[name]).lower()
    if field == "action":
        action = canonical["action"]
        return select_text(action)
    if field == "readout.placement":
        return spec_field(canonical, field)
    raise KeyError(field)


def design_confounds(designs: dict[str, dict[str, Any]], recipes: dict[str, str] | None = None) -> list[Confound]:
    """The confounds among ``designs`` (label -> canonical profile); ``recipes`` (label ->
    recipe or setup hash), when given, adds the recipe."""
    found = []
    for field in FIELDS[:-1]:
        values = {label: v for label, c in designs.items() if (v := field_value(c, field)) is not None}
        if len(set(values.values())) > 1:
            found.append(Confound(field, values))
    if recipes and len(set(recipes.values())) > 1:
        found.append(Confound("recipe", {label: h[:12] for label, h in recipes.items()}))
    return found


def group_confounds(groups) -> list[Confound]:
    """The confounds among the designs of a comparison (``store.groups.Group``s)."""
    return design_confounds({"/".join(g.names): g.canonical for g in groups},
                            {"/".join(g.names): g.runs[0].identity.setup_hash for g in groups if g.runs})


def render_confounds(confounds: list[Confound]) -> list[str]:
    """One ``warning: ...`` line per confound."""
    return [f"warning: {c.message()}" for c in confounds]
