"""The Python API: load/loads/dump/dumps, resolved models, and spec_hash identity."""

import io

import pytest

import echodsl

BASE = """
profile ctx {
    storage     frames(k = 5, select = fov(samples = 64, recency = 0.5))
    compression length(ratio = 2)
}
"""


def h(text, name="ctx"):
    return echodsl.loads(text).profile(name).spec_hash


def test_hash_ignores_comments_whitespace_argument_and_clause_order_and_name():
    variants = [
        "# a comment\nprofile ctx{storage frames(select=fov(recency=0.5,samples=64),k=5) compression length(ratio=2)}",
        "profile ctx {\n  compression length(ratio = 2)  # pooled\n  storage frames(k = 5, select = fov(recency = 0.5, samples = 64),)\n}",
    ]
    for text in variants:
        assert h(text) == h(BASE)
    assert h(BASE.replace("ctx", "renamed"), "renamed") == h(BASE)


@pytest.mark.parametrize("change", [("k = 5", "k = 6"), ("samples = 64", "samples = 65"),
                                    ("recency = 0.5", "recency = 0.25"), ("length", "hybrid"),
                                    ("ratio = 2", "ratio = 3")])
def test_hash_changes_with_any_semantic_value(change):
    assert h(BASE.replace(*change)) != h(BASE)


def test_defaults_are_filled_so_explicit_equals_implicit():
    implicit = echodsl.loads("profile a { storage frames(k = 3) }").profile("a")
    explicit = echodsl.loads("""profile a {
        storage frames(k = 3, select = fov(samples = 512, recency = 0.0))
        compression none
        readout joint(placement = suffix)
        recurrence none
        action relative_rt(inject = pre_norm)
    }""").profile("a")
    assert implicit == explicit and implicit.spec_hash == explicit.spec_hash


def test_int_is_accepted_for_float_and_hashes_like_the_float():
    one = echodsl.loads("profile a { storage state recurrence smoothing(alpha = 0.5) }")
    assert isinstance(one.profile("a").recurrence["alpha"], float)
    lr_int = echodsl.loads("profile a {} study s { train flow(lr = 1) profiles a }").study("s")
    lr_float = echodsl.loads("profile a {} study s { train flow(lr = 1.0) profiles a }").study("s")
    assert lr_int.train["lr"] == 1.0 and lr_int.setup_hash == lr_float.setup_hash


def test_extends_replaces_whole_clause_without_merging():
    doc = echodsl.loads("""
        profile base { storage frames(k = 8, select = recent) }
        profile child extends base { storage frames(k = 4) }
    """)
    assert doc.profile("child").storage["select"].variant == "fov"  # not inherited from base


def test_sweeps_expand_to_named_members_with_their_own_hashes():
    doc = echodsl.loads("profile s { storage frames(k = {2, 4}) compression length(ratio = {2}) }")
    names = list(doc.members["s"])
    assert names == ["s[storage.k=2,compression.ratio=2]", "s[storage.k=4,compression.ratio=2]"]
    assert len({doc.profile(n).spec_hash for n in names}) == 2
    assert doc.profile(names[1]).sweep == {"storage.k": 4, "compression.ratio": 2}


def test_study_resolves_profiles_members_and_defaults():
    doc = echodsl.loads("profile a {} profile s { storage frames(k = {2, 3}) } study t { profiles s, a }")
    study = doc.study("t")
    assert [p.name for p in study.profiles] == ["s[storage.k=2]", "s[storage.k=3]", "a"]
    assert study.seeds == (0,) and study.backbone["preset"] == "tiny"
    assert [e.variant for e in study.eval] == ["replay", "return", "return"]
    assert study.train["shift"] == 15.0 and study.train["overlap_drop"] == 0.1


def test_load_dump_files(tmp_path):
    path = tmp_path / "x.mem"
    path.write_text(BASE)
    doc = echodsl.load(path)
    buf = io.StringIO()
    echodsl.dump(doc, buf)
    assert echodsl.loads(buf.getvalue()) == doc
    assert echodsl.loads(echodsl.dumps(doc.profile("ctx"))).profile("ctx") == doc.profile("ctx")


def test_spec_error_carries_every_diagnostic():
    with pytest.raises(echodsl.SpecError) as info:
        echodsl.loads("profile a { storage frames(k = 0) readout joint(placement = up) }")
    assert [d.code for d in info.value.errors] == ["E106", "E106"]
    assert "<string>:1:" in str(info.value)


def test_strict_option_turns_warnings_into_errors():
    text = "profile big { storage frames(k = 64) } study s { profiles big }"
    assert echodsl.loads(text).warnings[0].code == "W201"
    with pytest.raises(echodsl.SpecError):
        echodsl.loads(text, options=echodsl.LoadOptions(strict=True))


def test_profile_lookup_errors_are_helpful():
    doc = echodsl.loads("profile context { } profile sw { storage frames(k = {1, 2}) }")
    with pytest.raises(KeyError, match="did you mean `context`"):
        doc.profile("contxt")
    with pytest.raises(KeyError, match="sweep of 2 profiles"):
        doc.profile("sw")
    assert len(doc.select("sw")) == 2
