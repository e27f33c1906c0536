"""The resolved records (Variant, Profile, Study): immutable, compared by value, copied
with changes by `model_copy`, never sharing a caller's dict."""

import dataclasses

import pytest

import echodsl
from echodsl import Variant

DOC = echodsl.loads("profile a { storage frames(k = 5) }\nprofile b { storage frames(k = 5) }\n"
                    "study s { profiles a, b  seeds 0, 1 }")


def test_records_are_immutable():
    profile = DOC.profile("a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile.name = "c"  # type: ignore[misc]


def test_equal_designs_compare_equal_and_hash_alike():
    a, b = DOC.profile("a"), DOC.profile("b")
    assert a != b and a.model_copy(update={"name": "b"}) == b
    assert a.spec_hash == b.spec_hash


def test_model_copy_changes_only_what_it_is_given():
    study = DOC.study("s")
    copied = study.model_copy(update={"seeds": (7,)})
    assert copied.seeds == (7,) and study.seeds == (0, 1)
    assert copied.setup_hash == study.setup_hash


def test_a_variant_does_not_share_the_callers_dict():
    args = {"k": 5}
    variant = Variant(variant="frames", args=args)
    args["k"] = 6
    assert variant["k"] == 5


def test_records_are_keyword_only():
    with pytest.raises(TypeError):
        Variant("frames")  # type: ignore[misc]
