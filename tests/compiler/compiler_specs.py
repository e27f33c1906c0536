"""The paper's profiles, for parametrising compiler tests (a plain module: test files
import it by name, which a conftest cannot be when several directories have one)."""

from __future__ import annotations

from pathlib import Path

import echodsl

SPECS = Path(__file__).resolve().parents[2] / "specs"


def spec_profiles() -> dict:
    """Every resolved profile (sweep members included) of every file in specs/."""
    profiles = {}
    for path in sorted(SPECS.glob("*.mem")):
        profiles.update(echodsl.load(path).profiles)
    return profiles
