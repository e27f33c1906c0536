"""The one error boundary of the CLI and the one envelope of its JSON documents.

Every command turns an ``EchoError`` into a short message and an exit code (one JSON
object under ``--json``), a traceback only with ``--debug``; an unknown name is a
``NotFound``, which is both a ``KeyError`` and an ``EchoError``; every ``--json``
document starts with the one ``format_version``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import echodsl
from echodsl import jsonout
from echodsl.cli import COMMANDS, main
from echodsl.cli.common import GUARDED, guarded
from echodsl.errors import BuildError, EchoError, NotFound

ROOT = Path(__file__).resolve().parents[1]

# Valid .mem, but no module can be built: the tiny preset's width (128) is not divisible
# by 3 heads, which only the compiler finds.
UNBUILDABLE = "profile odd {\n    storage frames(k = 3)\n    readout cross_attention(heads = 3)\n}\n"


@pytest.fixture(scope="module")
def unbuildable(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "odd.mem"
    path.write_text(UNBUILDABLE)
    return path


@pytest.mark.parametrize("command", [["explain"], ["compile", "--no-compile"]])
def test_a_build_error_is_one_line_and_exit_2(unbuildable, command):
    result = CliRunner().invoke(main, [*command, str(unbuildable), "--profile", "odd"])
    assert isinstance(result.exception, SystemExit) and result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stderr.strip() == "error: profile odd: model width 128 is not divisible by 3 heads"


@pytest.mark.parametrize("command", [["explain"], ["compile", "--no-compile"]])
def test_a_build_error_under_json_is_one_json_object(unbuildable, command):
    result = CliRunner().invoke(main, [*command, str(unbuildable), "--profile", "odd", "--json"])
    assert result.exit_code == 2 and result.stderr == ""
    doc = json.loads(result.stdout)
    assert list(doc) == ["format_version", "valid", "error"]
    assert doc["format_version"] == jsonout.FORMAT_VERSION
    assert doc["error"] == {"message": "profile odd: model width 128 is not divisible by 3 heads",
                            "hint": None, "exit_code": 2}


def test_a_build_error_from_a_backbone_config_is_clean_too(tmp_path):
    spec = tmp_path / "a.mem"
    spec.write_text("profile a {}\n")
    result = CliRunner().invoke(main, ["explain", str(spec), "--profile", "a", "--config", str(tmp_path / "none.json")])
    assert result.exit_code == 2 and "error: backbone config not found" in result.stderr
    assert "Traceback" not in result.output


def test_debug_raises_the_build_error(unbuildable):
    result = CliRunner().invoke(main, ["--debug", "explain", str(unbuildable), "--profile", "odd"])
    assert isinstance(result.exception, BuildError)


def test_build_error_carries_its_profile():
    exc = BuildError("model width 128 is not divisible by 3 heads", profile="odd")
    assert (exc.profile, exc.message) == ("odd", "model width 128 is not divisible by 3 heads")
    assert str(exc) == "profile odd: model width 128 is not divisible by 3 heads"
    assert str(BuildError("no config")) == "no config"


def test_not_found_is_a_key_error_and_an_echo_error_with_its_data():
    doc = echodsl.loads("profile grid { storage frames(k = {4, 8}) }\nprofile i2v {}\nstudy main { profiles i2v }\n")
    with pytest.raises(KeyError) as caught:
        doc.profile("gird")
    exc = caught.value
    assert isinstance(exc, NotFound) and isinstance(exc, EchoError)
    assert (exc.kind, exc.name) == ("profile", "gird") and "i2v" in exc.known
    assert str(exc) == exc.args[0] == "no profile `gird`; did you mean `grid`?"
    with pytest.raises(NotFound, match=r"`grid` is a sweep of 2 profiles; name one member, e\.g\. `grid\[storage\.k=4\]`"):
        doc.profile("grid")
    with pytest.raises(NotFound, match="no study `mian`; did you mean `main`?") as caught:
        doc.study("mian")
    assert caught.value.known == ("main",)
    with pytest.raises(NotFound, match="no profile `grid`; expected one of: `i2v`"):
        doc.studies["main"].profile("grid")


def test_an_unknown_study_is_a_usage_error_but_a_bare_key_error_is_a_bug():
    @click.command()
    @click.option("--name")
    @guarded
    def look(name):
        raise NotFound("study", name, ["main"]) if name else KeyError("oops")

    result = CliRunner().invoke(look, ["--name", "mian"])
    assert result.exit_code == 2 and result.stderr == "error: no study `mian`; did you mean `main`?\n"
    result = CliRunner().invoke(look, [])
    assert result.exit_code == 2 and "error: internal error: KeyError: 'oops'" in result.stderr
    assert "re-run with --debug" in result.stderr


def test_judge_errors_are_echo_errors():
    from echodsl.eval.judges.openai import AnswerError, CallError

    assert issubclass(AnswerError, EchoError) and issubclass(AnswerError, ValueError)
    assert issubclass(CallError, EchoError) and issubclass(CallError, RuntimeError)


def _leaves(command: click.Command):
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            yield from _leaves(sub)
    else:
        yield command


def test_every_command_goes_through_the_one_boundary():
    ctx = click.Context(main)
    unguarded = [leaf.name for name in COMMANDS for leaf in _leaves(main.get_command(ctx, name))
                 if not getattr(leaf.callback, GUARDED, False)]
    assert unguarded == []


def test_envelope_puts_the_one_format_version_first():
    assert list(jsonout.envelope({"a": 1}, b=2).items()) == [("format_version", "1.0"), ("a", 1), ("b", 2)]
    assert jsonout.envelope({"format_version": "1.0", "a": 1}) == {"format_version": "1.0", "a": 1}
    with pytest.raises(ValueError):
        jsonout.envelope({"format_version": "0.9"})


# Files that still write a "format_version" key themselves: the envelope itself, and a
# file format on disk (not a --json output) with its own version.
OWN_VERSION = {"echodsl/jsonout.py", "echodsl/eval/frames.py"}


def test_no_json_output_spells_its_format_version_by_hand():
    spelled = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "echodsl").rglob("*.py")
                     if re.search(r"""["']format_version["']\s*:""", p.read_text(encoding="utf-8")))
    assert set(spelled) <= OWN_VERSION, spelled
