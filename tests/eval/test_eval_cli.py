"""``echodsl eval`` on a tiny trained run: tables per branch with per-chunk replay, JSON
contract, usage errors."""

import json

from click.testing import CliRunner

from echodsl.cli import main

ARGS = ["--cases", "2", "--write-cases", "2", "--chunks", "2", "--steps", "1"]


def test_eval_prints_every_branch_with_per_chunk_replay(trained_dir):
    result = CliRunner().invoke(main, ["eval", str(trained_dir), *ARGS])
    assert result.exit_code == 0, result.output
    out = result.output
    for heading in ("replay: 2/2", "return_in: 2/2", "return_open: 2/2", "write:"):
        assert heading in out
    assert "chunk 0" in out and "chunk 1" in out and "overall" in out
    assert "lpips: unavailable: no --lpips-weights given" in out


def test_eval_json_reuses_saved_cases(trained_dir):
    result = CliRunner().invoke(main, ["eval", str(trained_dir), *ARGS, "--branches", "replay,open", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert next(iter(payload)) == "format_version" and payload["format_version"] == "1.0"
    assert payload["branches"] == ["replay", "return_open"]
    chunks = {m["chunk"] for m in payload["metrics"] if m["branch"] == "replay"}
    assert chunks == {0, 1, None}
    assert all(c["status"] == "ok" for c in payload["cases"])
    assert payload["definitions"]["psnr"]["id"] == "psnr/v1"  # what the numbers mean travels with them


def test_eval_usage_errors_are_json_under_json(tmp_path):
    result = CliRunner().invoke(main, ["eval", str(tmp_path / "missing"), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["message"].startswith("no such run directory")
    (tmp_path / "run.json").write_text("{}")  # a run directory by its look: the branches are checked next
    result = CliRunner().invoke(main, ["eval", str(tmp_path), "--branches", "replay,bogus"])
    assert result.exit_code == 2 and "unknown branch bogus" in result.output
