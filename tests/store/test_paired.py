"""``results compare --baseline``: differences to a baseline taken probe by probe."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from echodsl.cli import main
from echodsl.store import Store
from echodsl.store.compare import compare

from store_fixtures import load_study, start

# Per-probe return PSNR: i2v is flat; ctx is better on every probe but by varying amounts;
# comp loses on one probe of one seed.
PROBES = ("in0000", "in0001", "in0002", "in0003")
I2V = {0: (10.0, 12.0, 9.0, 11.0), 1: (10.5, 11.5, 9.5, 10.5)}
GAIN = {"ctx[storage.k=5]": (3.0, 4.0, 2.0, 5.0), "comp_length_r4": (1.0, -0.5, 0.5, 1.5)}


@pytest.fixture
def store_path(tmp_path):
    path = tmp_path / "paired.db"
    study = load_study()
    with Store.open(path) as store:
        for profile in study.profiles:
            if profile.name not in ("i2v", *GAIN):
                continue
            for seed in (0, 1):
                run_id = start(store, study, profile, seed)
                for j, case in enumerate(PROBES):
                    value = I2V[seed][j] + (GAIN[profile.name][j] if profile.name in GAIN else 0.0)
                    # SSIM follows the PSNR gain: +0.05 per dB
                    gain = GAIN[profile.name][j] if profile.name in GAIN else 0.0
                    store.log_case(run_id, "return_in", case, {"psnr": value, "ssim": 0.4 + 0.05 * gain},
                                   judge="", judge_version="")
                store.finish_run(run_id, steps=10)
    return path


def test_paired_differences_are_taken_case_by_case(store_path):
    with Store.open(store_path) as store:
        c = compare(store, study="table1", baseline="i2v")
    by_name = {g.label: c.paired[g.spec_hash]["ID-P"] for g in c.groups}
    ctx = by_name["ctx[storage.k=5]"]
    assert ctx.pairs == 8 and ctx.improved == 8
    assert ctx.diff.mean == pytest.approx(3.5)
    # Pairing removes the probes' own spread: the interval is the spread of the gains alone.
    assert 0 < ctx.diff.low < 3.5 < ctx.diff.high
    comp = by_name["comp_length_r4"]
    assert (comp.improved, comp.pairs) == (6, 8)
    base = by_name["i2v"]
    assert base.diff.mean == 0 and base.improved == 0
    ssim = {g.label: c.paired[g.spec_hash]["ID-S"] for g in c.groups}
    assert ssim["ctx[storage.k=5]"].diff.mean == pytest.approx(0.175) and ssim["ctx[storage.k=5]"].improved == 8
    assert (ssim["comp_length_r4"].improved, ssim["comp_length_r4"].pairs) == (6, 8)


def test_compare_cli_prints_the_paired_columns_and_says_which_interval(store_path):
    result = CliRunner().invoke(main, ["results", "compare", "--store", str(store_path), "--study", "table1",
                                       "--baseline", "i2v"])
    assert result.exit_code == 0, result.output
    assert "ΔID-P (improved)" in result.output and "ΔID-S (improved)" in result.output and "(8/8)" in result.output
    assert "paired 95% t-interval over (seed, probe) differences" in result.output
    doc = json.loads(CliRunner().invoke(main, ["results", "compare", "--store", str(store_path), "--study",
                                               "table1", "--baseline", "i2v", "--json"]).output)
    assert doc["baseline"] == "i2v"
    row = next(r for r in doc["rows"] if r["profile"] == "ctx[storage.k=5]")
    assert row["paired"]["ID-P"]["improved"] == 8 and row["paired"]["ID-P"]["mean"] == pytest.approx(3.5)


def test_an_unknown_baseline_names_the_designs_there_are(store_path):
    result = CliRunner().invoke(main, ["results", "compare", "--store", str(store_path), "--baseline", "nope"])
    assert result.exit_code == 2
    assert "no finished runs of baseline `nope`" in result.output and "i2v" in result.output
