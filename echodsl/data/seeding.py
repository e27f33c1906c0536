"""Stable seeds: every random draw in echodsl is a pure function of named parts."""

from __future__ import annotations

import hashlib


def stable_seed(*parts: object) -> int:
    """A 63-bit seed from ``parts`` (Python's ``hash()`` is salted per process, so it won't do)."""
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:8], "big") >> 1
