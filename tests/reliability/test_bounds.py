"""Inputs at and past their limits: clear errors, strict JSON, no overflow, files kept as
they were, optional extras named."""

import json
import math
import os
import random
import stat
import subprocess
import sys
import time
import warnings

import pytest

from echodsl import jsonout
from echodsl.errors import DataError
from echodsl.eval.calibration import parse_ratings, read_ratings
from echodsl.store.stats import mean_ci


def test_two_values_of_1e308_have_a_mean_and_an_interval():
    same = mean_ci([1e308, 1e308])
    assert same.mean == 1e308 and same.half == 0.0
    spread = mean_ci([1e308, -1e308])
    assert spread.mean == 0.0 and spread.half == math.inf  # wider than floats reach: said, not raised
    assert mean_ci([1.0, 2.0, 3.0]).half == pytest.approx(2.4841377, rel=1e-6)


def test_json_output_never_holds_infinity_or_nan():
    text = jsonout.dumps({"a": [1.0, math.inf], "b": {"c": -math.inf, "d": math.nan}, "e": 2})
    doc = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in JSON output"))
    assert doc["a"] == [1.0, None] and doc["b"] == {"c": None, "d": None} and doc["e"] == 2
    assert len(doc["notes"]) == 3 and "/a/1: inf" in doc["notes"][0]


def test_judge_scores_out_of_range_and_undecodable_csvs_are_data_errors(tmp_path):
    for bad in ("500", "-70", "1e308"):
        with pytest.raises(DataError, match="outside 0–100"):
            parse_ratings(f"case_id,judge,score\nc1,a,{bad}\n")
    path = tmp_path / "ratings.csv"
    path.write_bytes(b"case_id,judge,score\nc\xff1,a,5\n")
    with pytest.raises(DataError, match="not UTF-8"):
        read_ratings(path)
    out = subprocess.run([sys.executable, "-m", "echodsl", "judge", "calibrate", str(path)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 1 and "not UTF-8" in out.stderr and "internal error" not in out.stderr


def test_calibration_parsing_is_linear():
    rng = random.Random(0)
    rows = ["case_id,judge,score"] + [f"c{i},{j},{rng.uniform(0, 100):.2f}" for i in range(80_000) for j in "ab"]
    start = time.perf_counter()
    ratings = parse_ratings("\n".join(rows))
    assert len(ratings.cases) == 80_000
    assert time.perf_counter() - start < 15  # quadratic parsing took minutes at this size


def test_a_missing_extra_is_named(tmp_path):
    code = ("import sys; sys.modules['sqlalchemy'] = None\n"
            "from echodsl.cli import main\n"
            f"main(['results', 'list', '--store', {str(tmp_path / 's.db')!r}])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 2, out.stderr
    assert "`store` extra" in out.stderr and 'pip install "echodsl[store]"' in out.stderr
    assert "internal error" not in out.stderr


def test_fmt_keeps_the_file_mode_and_writes_through_symlinks(tmp_path):
    real = tmp_path / "real.mem"
    real.write_text("profile   a   {}\n")
    os.chmod(real, 0o644)
    link = tmp_path / "link.mem"
    link.symlink_to(real)
    out = subprocess.run([sys.executable, "-m", "echodsl", "fmt", str(link)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert link.is_symlink() and real.read_text() == "profile a {}\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o644


def test_a_backbone_config_that_is_not_json_names_the_file(tmp_path):
    from echodsl.presets import backbone_config
    from echodsl.errors import BuildError

    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    with pytest.raises(BuildError, match=f"{bad}.*not a JSON file"):
        backbone_config("tiny", bad)


def test_lpips_weights_never_load_torchscript(tmp_path):
    import torch

    from echodsl.eval.lpips import load_lpips

    class Distance(torch.nn.Module):
        def forward(self, x, y):
            return (x - y).abs().mean((1, 2, 3))

    path = tmp_path / "scripted.pt"
    with pytest.warns(DeprecationWarning):
        torch.jit.save(torch.jit.script(Distance()), str(path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch.load warns when it hands an archive to torch.jit.load
        with pytest.raises(DataError, match="TorchScript"):
            load_lpips(path)
