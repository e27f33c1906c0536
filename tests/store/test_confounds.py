"""The confound check: designs in one comparison may differ only in memory representation."""

import json

from click.testing import CliRunner

import echodsl
from echodsl.cli import main
from echodsl.store.confounds import design_confounds

SPEC = """
profile i2v {}
profile context { storage frames(k = 5, select = fov(samples = 64)) }
profile pooled  { storage frames(k = 5, select = fov(samples = 64))  compression length(ratio = 2) }
profile summary { storage summary(k = 5, select = fov(samples = 64), grid = 2x2) }
profile state   { storage state(k = 5, select = fov(samples = 64), dim = 16) }
profile longer  { storage summary(k = 9, select = fov(samples = 64), grid = 2x2) }
profile recent  { storage state(k = 5, select = recent, dim = 16, carry = true) }
profile blind   { storage frames(k = 5, select = fov(samples = 64))  action none }
profile prefix  { storage frames(k = 5, select = fov(samples = 64))  readout joint(placement = prefix) }
"""


def _designs(*names):
    doc = echodsl.loads(SPEC)
    return {n: doc.profile(n).canonical() for n in names}


def test_one_history_is_controlled():
    assert design_confounds(_designs("i2v", "context", "pooled", "summary", "state")) == []


def test_history_differences_are_named():
    found = {c.field: c for c in design_confounds(_designs("i2v", "context", "longer", "recent"))}
    assert set(found) == {"storage.k", "storage.select", "storage.carry"}
    assert found["storage.k"].values == {"context": "5", "longer": "9", "recent": "5"}  # i2v reads no history
    message = found["storage.select"].message()
    assert "storage.select" in message and "recent: recent" in message and "fov(samples = 64" in message


def test_action_placement_and_recipe():
    found = {c.field for c in design_confounds(_designs("context", "blind", "summary"))}
    assert found == {"action"}
    # Placement is compared among the joint read-outs only (a cross-attention has none).
    found = design_confounds(_designs("context", "prefix", "summary"))
    assert [(c.field, c.values) for c in found] == [("readout.placement", {"context": "suffix", "prefix": "prefix"})]
    found = design_confounds(_designs("context", "pooled"), {"context": "a" * 64, "pooled": "b" * 64})
    assert [c.field for c in found] == ["recipe"]


def test_compare_warns_and_strict_fails(filled_store):
    # The fixture study's designs read different histories (k = 1, 5, 20).
    runner = CliRunner()
    result = runner.invoke(main, ["results", "compare", "--store", str(filled_store)], catch_exceptions=False)
    assert result.exit_code == 0
    assert "warning: designs differ in storage.k" in result.stderr
    result = runner.invoke(main, ["results", "compare", "--store", str(filled_store), "--json"], catch_exceptions=False)
    fields = [c["field"] for c in json.loads(result.stdout)["confounds"]]
    assert result.exit_code == 0 and "storage.k" in fields
    result = runner.invoke(main, ["results", "compare", "--store", str(filled_store), "--strict"],
                           catch_exceptions=False)
    assert result.exit_code == 1 and "storage.k" in result.stderr


def test_study_plan_lists_histories_and_strict_refuses(tmp_path):
    spec = tmp_path / "s.mem"
    spec.write_text(SPEC + "study s { profiles i2v, context, longer }\n")
    runner = CliRunner()
    args = ["study", str(spec), "--study", "s", "--store", str(tmp_path / "x.db")]
    result = runner.invoke(main, [*args, "--dry-run"], catch_exceptions=False)
    assert result.exit_code == 0
    assert ("k = 9: 8 frames by fov(samples = 64, recency = 0, key = middle, overlap = symmetric, far = 3), "
            "oldest first") in result.stdout
    assert "warning: designs differ in storage.k" in result.stdout
    result = runner.invoke(main, [*args, "--strict"], catch_exceptions=False)
    assert result.exit_code == 1 and "storage.k" in result.stderr
    assert not (tmp_path / "runs").exists()  # refused before training anything
