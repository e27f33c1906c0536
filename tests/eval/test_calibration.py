"""Calibration maths on hand-made ratings, both CSV layouts, and ``echodsl judge calibrate``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from echodsl.cli import main
from echodsl.errors import DataError, UsageError
from echodsl.eval.calibration import bootstrap_spearman_ci, calibrate, parse_ratings, spearman

WIDE = "case_id,ref,same,reversed,shifted\n" + "".join(
    f"c{i},{s},{s},{100 - s},{s + 5}\n" for i, s in enumerate([10, 20, 35, 50, 80]))


def rows_by_judge(table):
    return {r.judge: r for r in table.rows}


def test_identical_reversed_and_shifted_judges():
    table = calibrate(parse_ratings(WIDE), bootstrap=200)
    rows = rows_by_judge(table)
    assert table.reference == "ref" and rows["ref"].spearman is None
    assert rows["ref"].mean == pytest.approx(39.0) and rows["ref"].sd == pytest.approx(np.std([10, 20, 35, 50, 80], ddof=1))
    assert rows["same"].spearman == 1.0 and rows["same"].mean_abs_delta == 0.0
    assert (rows["same"].spearman_low, rows["same"].spearman_high) == (1.0, 1.0)
    assert rows["reversed"].spearman == -1.0 and rows["reversed"].mean_abs_delta == pytest.approx(46.0)  # |100 - 2s|: 80, 60, 30, 0, 60
    assert rows["shifted"].spearman == 1.0 and rows["shifted"].mean_abs_delta == 5.0 and rows["shifted"].bias == 5.0


def test_spearman_with_ties_matches_scipy_and_the_bootstrap_is_seeded():
    from scipy import stats

    x = np.array([1, 2, 2, 3, 5, 4, 7, 7, 9, 0.5])
    y = np.array([2, 1, 3, 3, 6, 5, 9, 8, 7, 1.0])
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)
    a, b = bootstrap_spearman_ci(x, y, 500, seed=3), bootstrap_spearman_ci(x, y, 500, seed=3)
    assert a == b and a[0] < spearman(x, y) < a[1] <= 1.0
    assert spearman(np.array([1.0, 1, 1]), np.array([1.0, 2, 3])) is None  # constant: undefined
    assert bootstrap_spearman_ci(x[:2], y[:2], 100, 0) == (None, None)


def test_long_layout_with_missing_pairs_and_a_chosen_reference():
    text = ("case_id,judge,score,comment\n"
            "a,qwen,10,x\na,human,12,\nb,qwen,20,\nb,human,18,\nc,qwen,40,\nc,claude,41,\n")
    ratings = parse_ratings(text)
    assert ratings.judges == ["qwen", "human", "claude"] and ratings.cases == ["a", "b", "c"]
    rows = rows_by_judge(calibrate(ratings, "human", bootstrap=0))
    assert rows["qwen"].paired == 2 and rows["qwen"].mean_abs_delta == 2.0 and rows["qwen"].bias == 0.0
    assert rows["claude"].paired == 0 and rows["claude"].mean_abs_delta is None and rows["claude"].n == 1
    with pytest.raises(UsageError):
        calibrate(ratings, "gpt")


@pytest.mark.parametrize("text, match", [
    ("judge,score\nqwen,1\n", "case_id"),
    ("case_id,judge,score\na,qwen,1\na,qwen,2\n", "twice"),
    ("case_id,judge,score\na,qwen,high\n", "line 2, column 3"),
    ("case_id,qwen\n,3\n", "empty case_id"),
])
def test_bad_ratings_name_the_line(text, match):
    with pytest.raises(DataError, match=match):
        parse_ratings(text)


def test_cli_json_and_text(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text(WIDE)
    res = CliRunner().invoke(main, ["judge", "calibrate", str(path), "--json", "--bootstrap", "100", "--seed", "1"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert next(iter(out)) == "format_version" and out["format_version"] == "1.0"
    assert [j["judge"] for j in out["judges"]] == ["ref", "same", "reversed", "shifted"]
    assert out["judges"][2]["spearman"] == -1.0 and out["seed"] == 1
    res = CliRunner().invoke(main, ["judge", "calibrate", str(path), "--reference", "same"])
    assert res.exit_code == 0 and "same (reference)" in res.output and "Spearman" in res.output


def test_cli_errors_exit_codes(tmp_path):
    res = CliRunner().invoke(main, ["judge", "calibrate", str(tmp_path / "none.csv"), "--json"])
    assert res.exit_code == 2 and json.loads(res.output)["error"]["exit_code"] == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("case_id,judge,score\na,q,x\n")
    res = CliRunner().invoke(main, ["judge", "calibrate", str(bad)])
    assert res.exit_code == 1 and "line 2" in res.output
