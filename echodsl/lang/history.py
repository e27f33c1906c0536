"""The history a resolved profile reads, named from its canonical form (torch-free).

Every storage family takes the same two arguments, ``k`` and ``select``: which past frames
its memory is written from. ``show``, ``explain``, a study's dry-run plan and the
confound check all name a profile's history through this module, so they agree.
"""

from __future__ import annotations

from typing import Any

from echodsl.families import FAMILIES

# Storages that write their history oldest -> newest whatever order ``select`` gives (a scan).
SCANNED = tuple(name for name, family in FAMILIES.items() if family.scans)


def history_of(canonical: dict[str, Any]) -> dict[str, Any] | None:
    """``{"select", "k", "frames", "order", "carry"}`` of a profile's canonical form, or None
    for a storage with no history (``none``)."""
    storage = canonical["storage"]
    args = storage["args"]
    if "k" not in args:
        return None
    select = args["select"]
    if storage["variant"] in SCANNED:
        order = "oldest -> newest"
    else:
        order = "newest first" if select["variant"] == "tail" else "oldest first"
    return {"select": select, "k": args["k"], "frames": args["k"] - 1, "order": order,
            "carry": bool(args.get("carry", False))}


def select_text(select: dict[str, Any]) -> str:
    """``fov(samples = 64, recency = 0)``, ``recent``, ``tail(n = 5)``."""
    if not select["args"]:
        return select["variant"]
    inner = ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in select["args"].items())
    return f"{select['variant']}({inner})"


def describe(canonical: dict[str, Any]) -> str:
    """One line, e.g. ``k = 5: 4 frames by fov(samples = 64, recency = 0), oldest first``."""
    history = history_of(canonical)
    if history is None:
        return "none (anchor only)"
    n = history["frames"]
    text = f"k = {history['k']}: {n} frame{'s' if n != 1 else ''} by {select_text(history['select'])}, {history['order']}"
    if history["carry"]:
        text += "; state carried across rollout chunks"
    return text
