"""The memory-family registry covers the language: every storage and read-out variant of
the schema has exactly one entry, and each family lowers to its own typed config."""

import echodsl
from echodsl.lang.schema import PROFILE_CLAUSES
from echodsl.families import FAMILIES, READOUTS, family_of
from echodsl.presets import backbone_config

SPEC = """
profile none_p {}
profile frames_p { storage frames(k = 5) compression length(ratio = 2) }
profile summary_p { storage summary() }
profile state_p { storage state(dim = 32) recurrence gated_ema(every = 2) }
"""


def test_every_schema_variant_has_one_entry():
    assert set(FAMILIES) == set(PROFILE_CLAUSES["storage"])
    assert set(READOUTS) == set(PROFILE_CLAUSES["readout"])
    assert all(f.storage == kind for kind, f in FAMILIES.items())


def test_each_family_lowers_to_its_own_config():
    tiny = backbone_config("tiny")
    for profile in echodsl.loads(SPEC).profiles.values():
        family = family_of(profile.storage.variant)
        config = family.lower(profile, tiny)
        assert type(config) is family.config and config.kind == family.storage
        assert config.to_json()["kind"] == family.storage


def test_write_policies_and_the_baseline():
    assert [k for k, f in FAMILIES.items() if f.anchor_only] == ["none"]
    # Every family writes each rollout chunk's memory anew unless a state is told to carry.
    tiny = backbone_config("tiny")
    profiles = echodsl.loads(SPEC + "profile carried { storage state(carry = true, select = recent) }").profiles.values()
    carries = {p.name: family_of(p.storage.variant).carries(family_of(p.storage.variant).lower(p, tiny))
               for p in profiles}
    assert carries == {"none_p": False, "frames_p": False, "summary_p": False, "state_p": False, "carried": True}
