"""``--debug`` works wherever a user puts it: before or after the sub-command."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from echodsl.cli import main


@pytest.mark.parametrize("argv", [
    ["--debug", "study", "{spec}", "--study", "nope"],
    ["study", "{spec}", "--study", "nope", "--debug"],
    ["results", "list", "--store", "sqlite:///{missing}", "--debug"],
])
def test_debug_shows_the_traceback_wherever_it_is_written(tmp_path, argv):
    spec = tmp_path / "a.mem"
    spec.write_text("profile a {}\nstudy s { profiles a }\n")
    argv = [a.format(spec=spec, missing=tmp_path / "none.db") for a in argv]
    result = CliRunner().invoke(main, argv)
    # Under --debug the error is raised, not turned into a one-line message.
    assert result.exception is not None and not isinstance(result.exception, SystemExit), result.output


def test_without_debug_the_error_is_one_line_and_names_the_flag(tmp_path):
    spec = tmp_path / "a.mem"
    spec.write_text("profile a {}\nstudy s { profiles a }\n")
    result = CliRunner().invoke(main, ["study", str(spec), "--study", "nope"])
    assert result.exit_code == 2
    assert "no study `nope`" in result.output
    assert "Traceback" not in result.output
