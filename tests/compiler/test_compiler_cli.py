"""``echodsl explain`` / ``compile``: JSON contract and exit codes."""

from __future__ import annotations

import json

from click.testing import CliRunner

from echodsl.cli import main
from compiler_specs import SPECS


def test_explain_json_reports_zero_graph_breaks():
    result = CliRunner().invoke(main, ["explain", str(SPECS / "i2v.mem"), "--profile", "i2v", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert next(iter(data)) == "format_version" and data["format_version"] == "1.0"
    assert data["graph_breaks"] == 0 and data["parameters"]["memory"] == 0


def test_unknown_profile_suggests_and_exits_2():
    result = CliRunner().invoke(main, ["explain", str(SPECS / "context.mem"), "--profile", "context_k6"])
    assert result.exit_code == 2 and "did you mean 'context_k5'" in result.output


def test_spec_error_exits_1(tmp_path):
    bad = tmp_path / "bad.mem"
    bad.write_text("profile x { storage frames(k = 0) }")
    result = CliRunner().invoke(main, ["compile", str(bad), "--profile", "x", "--no-compile", "--json"])
    assert result.exit_code == 1 and json.loads(result.output)["format_version"] == "1.0"


def test_compile_no_compile_runs_a_step():
    result = CliRunner().invoke(main, ["compile", str(SPECS / "context.mem"), "--profile", "context_k5",
                                       "--no-compile", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["eager_step_s"] > 0 and data["attention_backend"] == "sdpa"
