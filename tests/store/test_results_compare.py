"""`results compare`/`export`: goldens on a fixture store, the statistics, every format."""

import csv
import io
import json
import math
from pathlib import Path

import pytest
from store_fixtures import start

from echodsl.errors import UsageError
from echodsl.store import Store
from echodsl.store.compare import compare, flatten_spec, spec_field
from echodsl.store.export import FORMATS, comparison_table, render, runs_table
from echodsl.store.stats import mean_ci, t975

GOLDEN = Path(__file__).parent / "golden"
GOLDENS = {  # golden file -> compare() arguments
    "compare.md": {},
    "compare_by_k.md": {"by": "storage.k", "only_changed": True},
}


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_compare_golden(name, filled_store, update_goldens):
    with Store.open(filled_store) as store:
        out = render(comparison_table(compare(store, **GOLDENS[name])), "md")
    if update_goldens:
        (GOLDEN / name).write_text(out, encoding="utf-8")
    assert out == (GOLDEN / name).read_text(encoding="utf-8"), f"rerun with --update-goldens if intended ({name})"


def test_t_quantiles_match_scipy():
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 2, 5, 29, 30, 31, 50, 200, 10_000):
        assert t975(df) == pytest.approx(stats.t.ppf(0.975, df), abs=1e-5)


def test_mean_ci():
    ci = mean_ci([1.0, 2.0, 3.0, None, math.nan])
    assert (ci.mean, ci.n, ci.missing) == (2.0, 3, 2)
    assert ci.half == pytest.approx(4.302653 * 1.0 / math.sqrt(3))
    assert mean_ci([5.0]).text(2) == "5.00" and mean_ci([]).text(2) == "n/a" and mean_ci([math.nan]).mean is None


def test_cells(filled_store):
    with Store.open(filled_store) as store:
        c = compare(store)
    rows = {g.label: g for g in c.groups}
    assert rows["ctx[storage.k=5]"].stat("replay", "psnr").mean == pytest.approx(11.92)
    assert rows["comp_length_r4"].stat("replay", "lpips").text(3) == "n/a"  # NaN, never 0
    assert rows["spatial_xattn"].seeds == (0,)
    assert rows["spatial_xattn"].stat("return_open", "judge_overall").mean is None  # never logged


def test_newest_finished_run_per_seed_counts(tmp_path, study):
    with Store.open(tmp_path / "s.db") as store:
        profile = study.profiles[0]
        for value in (1.0, 2.0):
            run_id = start(store, study, profile, seed=0)
            store.log_metric(run_id, "replay", "psnr", value)
            store.finish_run(run_id)
        broken = start(store, study, profile, seed=1)
        store.log_metric(broken, "replay", "psnr", 100.0)
        store.finish_run(broken, "failed")
        (group,) = compare(store).groups
    assert group.seeds == (0,) and group.stat("replay", "psnr").mean == 2.0


def test_mixed_setups_are_refused(tmp_path, study):
    import echodsl
    other = echodsl.loads("profile i2v {}\nstudy other { train flow(steps = 10)  profiles i2v }").study("other")
    with Store.open(tmp_path / "s.db") as store:
        for s in (study, other):
            run_id = start(store, s, s.profiles[0], seed=0)
            store.finish_run(run_id)
        with pytest.raises(UsageError, match="2 different setups"):
            compare(store)
        assert len(compare(store, study="other").groups) == 1
        assert len(compare(store, setup=other.setup_hash[:8]).groups) == 1


def test_spec_fields(study):
    canonical = study.profile("ctx[storage.k=5]").canonical()
    assert spec_field(canonical, "storage") == "frames" and spec_field(canonical, "storage.k") == 5
    assert spec_field(canonical, "storage.select") == "fov"
    assert spec_field(canonical, "storage.select.samples") == 512 and spec_field(canonical, "storage.nope") is None
    flat = flatten_spec(study.profile("spatial_xattn").canonical())
    assert flat["storage.grid"] == (8, 8) and flat["readout.dedicated"] is True


def test_unknown_by_field(filled_store):
    with Store.open(filled_store) as store:
        with pytest.raises(UsageError, match="unknown spec field"):
            compare(store, by="k")
        with pytest.raises(UsageError, match="no compared design"):
            compare(store, by="storage.nope")


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format(fmt, filled_store):
    with Store.open(filled_store) as store:
        for table in (comparison_table(compare(store, by="storage.k", design=True)), runs_table(store)):
            out = render(table, fmt)
            assert out.endswith("\n")
            if fmt == "json":
                doc = json.loads(out)
                assert next(iter(doc)) == "format_version" and doc["format_version"] == "1.0"
            elif fmt == "csv":
                rows = list(csv.DictReader(io.StringIO(out)))
                assert len(rows) == (6 if table.kind == "compare" else 16)
            elif fmt == "latex":
                assert out.startswith(r"\begin{tabular}") and r"\_" in out
        if fmt == "json":  # typed values, n/a as null
            compare_doc = json.loads(render(comparison_table(compare(store)), "json"))
            comp = next(r for r in compare_doc["rows"] if r["profile"] == "comp_length_r4")
            assert comp["metrics"]["R-L"]["mean"] is None and comp["metrics"]["R-P"]["n"] == 3
