"""Metric definitions travel with the numbers: each run records the definition of its
values, ``results compare`` refuses a column that would mix two definitions (naming both),
the same definitions compare as before, and compare and export outputs carry them."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

from click.testing import CliRunner
from store_fixtures import start

from echodsl.cli import main
from echodsl.eval.definitions import CURRENT, DEFINITIONS, current_definition
from echodsl.runner.record import metric_definitions
from echodsl.store import Store
from echodsl.store.definitions import StoredDefinition, definitions_of, record_definitions


def psnr(definition: str = "psnr/v1", resolution: str = "32x32") -> StoredDefinition:
    return StoredDefinition("replay", "psnr", definition, resolution, {"id": definition, "data_range": "1.0"})


def fill(path, study, definitions: list[StoredDefinition | None]) -> list[int]:
    """One finished run per entry (profiles in order, seed 0), replay/psnr 10, 11, ..., with
    that entry's definition recorded (None: none, as a run stored before definitions)."""
    ids = []
    with Store.open(path) as store:
        for i, d in enumerate(definitions):
            run_id = start(store, study, study.profiles[i], seed=0)
            store.log_metric(run_id, "replay", "psnr", 10.0 + i)
            if d is not None:
                record_definitions(store, run_id, [d])
            store.finish_run(run_id)
            ids.append(run_id)
    return ids


def results(*args: str):
    return CliRunner().invoke(main, ["results", *args])


def test_the_registry_describes_every_current_metric():
    for metric, key in CURRENT.items():
        d = DEFINITIONS[key]
        assert d.metric == metric and key.startswith(f"{metric}/v")
        assert all(getattr(d, f) for f in ("data_range", "colour_space", "resolution", "pooling"))
    assert current_definition("judge_overall") is None


def test_the_worker_records_each_evaluated_metric_at_the_model_resolution():
    from echodsl.eval.report import MetricRow

    rows = [MetricRow("replay", "psnr", 12.0, None), MetricRow("replay", "psnr", 11.0, 0),
            MetricRow("return_in", "ssim", 0.4, None), MetricRow("replay", "lpips", None, None),
            MetricRow("return_open", "judge_overall", 3.0, None)]
    got = {(d.branch, d.name): d.label for d in metric_definitions(rows, (32, 48))}
    assert got == {("replay", "psnr"): "psnr/v1 at 32x48", ("return_in", "ssim"): "ssim/v1 at 32x48"}
    stored = metric_definitions(rows, (32, 48))[0].to_json()
    assert stored["resolution"] == "32x48" and stored["resolution_rule"] == DEFINITIONS["psnr/v1"].resolution
    assert stored["data_range"] == DEFINITIONS["psnr/v1"].data_range


def test_different_definitions_in_one_column_are_refused_naming_both(tmp_path, study):
    path = tmp_path / "s.db"
    a, b = fill(path, study, [psnr(), psnr("psnr/v2")])
    res = results("compare", "--store", str(path))
    assert res.exit_code == 2
    assert f"R-P (replay/psnr) would mix values of different definitions: psnr/v1 at 32x32 (run {a}) and " \
           f"psnr/v2 at 32x32 (run {b})" in res.output
    # the resolution is part of the definition too
    path = tmp_path / "r.db"
    fill(path, study, [psnr(), psnr(resolution="64x64")])
    res = results("compare", "--store", str(path), "--json")
    assert res.exit_code == 2 and "psnr/v1 at 32x32" in res.output and "psnr/v1 at 64x64" in res.output


def test_same_definitions_compare_as_before_and_outputs_carry_them(tmp_path, study):
    plain, defined = tmp_path / "plain.db", tmp_path / "defined.db"
    fill(plain, study, [None, None])
    fill(defined, study, [psnr(), psnr()])
    before, after = (results("compare", "--store", str(p), "--format", "md") for p in (plain, defined))
    assert before.exit_code == after.exit_code == 0
    assert after.output == before.output + "\nmetric definitions: R-P psnr/v1 at 32x32 (full text: --format json)\n"
    doc = json.loads(results("compare", "--store", str(defined), "--json").output)
    col = {c["label"]: c for c in doc["columns"]}
    assert col["R-P"]["definition"] == {"definition": "psnr/v1", "resolution": "32x32", "data_range": "1.0"}
    assert col["R-S"]["definition"] is None and doc["warnings"] == []
    rows = list(csv.DictReader(io.StringIO(results("compare", "--store", str(defined), "--format", "csv").output)))
    assert {r["R-P_definition"] for r in rows} == {"psnr/v1 at 32x32"}
    exported = json.loads(results("export", "--store", str(defined), "--format", "json").output)
    assert [r["definitions"] for r in exported["runs"]] == [
        {"replay/psnr": {"definition": "psnr/v1", "resolution": "32x32", "data_range": "1.0"}}] * 2
    rows = list(csv.DictReader(io.StringIO(results("export", "--store", str(defined), "--format", "csv").output)))
    assert [r["replay/psnr_definition"] for r in rows] == ["psnr/v1 at 32x32"] * 2


def test_runs_without_a_recorded_definition_warn(tmp_path, study):
    path = tmp_path / "s.db"
    old, _ = fill(path, study, [None, psnr()])
    res = CliRunner().invoke(main, ["results", "compare", "--store", str(path)])
    assert res.exit_code == 0
    assert res.stderr == (f"warning: column R-P: run {old} recorded no metric definition (stored before "
                          "definitions were kept); the other runs use psnr/v1 at 32x32\n")


def test_recording_again_replaces_and_a_take_over_drops_them(tmp_path, study):
    from echodsl.store import RunIdentity, RunInfo
    from store_fixtures import BUILD, PROVENANCE

    path = tmp_path / "s.db"
    profile = study.profiles[0]
    with Store.open(path) as store:
        store.record_setup(study)
        store.record_spec(profile, "profile source")
        info = RunInfo(RunIdentity(profile.spec_hash, study.setup_hash, BUILD, 0), profile.name, study.name,
                       PROVENANCE)
        run_id = store.claim_run(info, owner="host:1:1").run.run_id
        record_definitions(store, run_id, [psnr()])
        record_definitions(store, run_id, [psnr("psnr/v2")])
        assert definitions_of(store, [run_id])[run_id][("replay", "psnr")].definition == "psnr/v2"
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT count(*) FROM metric_definitions").fetchone()[0] == 1
        store.finish_run(run_id, "interrupted", owner="host:1:1")
        claim = store.claim_run(info, owner="host:2:2")  # the new owner evaluates (and records) again
        assert (claim.action, claim.run.run_id) == ("resumed", run_id)
        assert definitions_of(store, [run_id]) == {}
