"""The front end's start-up work: the built parser is cached on disk and reused, a bad
or unusable cache only costs a rebuild, and one `validate` run parses each file once."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from echodsl.lang import imports
from echodsl.lang.api import analyze_file
from echodsl.lang.parser import cache_path, grammar_text
from echodsl.lang.workspace import validate_paths

ROOT = Path(__file__).resolve().parents[1]


def _validate(cache_dir: Path, *paths: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ECHODSL_CACHE_DIR": str(cache_dir)}
    return subprocess.run([sys.executable, "-m", "echodsl", "validate", *paths], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)


def test_the_parser_is_built_once_and_then_loaded(tmp_path):
    cache = tmp_path / "cache"
    first = _validate(cache, "specs")
    files = list(cache.iterdir())
    assert first.returncode == 0, first.stderr
    assert len(files) == 1 and files[0].stat().st_size > 1000
    built = files[0].stat().st_mtime_ns
    second = _validate(cache, "specs")
    assert (second.returncode, second.stdout, second.stderr) == (first.returncode, first.stdout, first.stderr)
    assert files[0].stat().st_mtime_ns == built  # loaded, not written again


def test_a_corrupt_cache_is_rebuilt(tmp_path):
    cache = tmp_path / "cache"
    good = _validate(cache, "tests/golden/invalid/many_errors.mem")
    (path,) = cache.iterdir()
    path.write_bytes(b"not a parser\n" + os.urandom(64))
    again = _validate(cache, "tests/golden/invalid/many_errors.mem")
    assert (again.returncode, again.stdout) == (good.returncode, good.stdout) and again.returncode == 1
    assert not path.read_bytes().startswith(b"not a parser")


def test_an_unusable_cache_directory_only_costs_a_rebuild(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = _validate(blocker / "cache", "specs")  # cannot be created: a file is in the way
    assert done.returncode == 0, done.stderr
    assert " 0 error(s)" in done.stdout or "All checks passed" in done.stdout, done.stdout


def test_each_grammar_has_its_own_cache_file(monkeypatch, tmp_path):
    monkeypatch.setenv("ECHODSL_CACHE_DIR", str(tmp_path))
    grammar = grammar_text()
    assert cache_path(grammar).parent == tmp_path
    assert cache_path(grammar) != cache_path(grammar + "\n// changed\n")


def test_every_cache_lives_under_one_root(monkeypatch, tmp_path):
    """$ECHODSL_CACHE moves the parser, latent, caption and judge caches together; the
    parser's older $ECHODSL_CACHE_DIR still works where $ECHODSL_CACHE is unset."""
    from echodsl.backbone.text_encoder import default_cache_dir
    from echodsl.eval.judges.openai import OpenAIJudgeConfig
    from echodsl.runtime.encode import default_latent_dir

    monkeypatch.delenv("ECHODSL_CACHE_DIR", raising=False)
    monkeypatch.setenv("ECHODSL_CACHE", str(tmp_path / "root"))
    assert cache_path(grammar_text()).parent == tmp_path / "root"
    assert default_latent_dir() == tmp_path / "root" / "latents"
    assert default_cache_dir() == tmp_path / "root" / "text"
    monkeypatch.delenv("ECHODSL_JUDGE_CACHE", raising=False)
    judge = OpenAIJudgeConfig.from_env(base_url="http://127.0.0.1:9", model="m")
    assert judge.cache_dir == tmp_path / "root" / "judge"
    monkeypatch.delenv("ECHODSL_CACHE")
    monkeypatch.setenv("ECHODSL_CACHE_DIR", str(tmp_path / "old"))
    assert cache_path(grammar_text()).parent == tmp_path / "old"


@pytest.fixture
def shared_tree(tmp_path):
    (tmp_path / "shared.mem").write_text("profile base { storage frames(k = 5) }\n")
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.mem").write_text(f'import "shared.mem"\nprofile {name} extends base {{}}\n')
    (tmp_path / "broken.mem").write_text("profile broken { storage frames(k = }\n")
    (tmp_path / "uses_broken.mem").write_text('import "broken.mem"\nprofile d {}\n')
    return tmp_path


def test_validate_parses_each_file_once(shared_tree, monkeypatch):
    parsed = []
    original = imports.parse
    monkeypatch.setattr(imports, "parse", lambda text, path="<string>": parsed.append(path) or original(text, path))
    result = validate_paths([shared_tree])
    assert len(result.files) == 6
    assert sorted(Path(p).name for p in parsed) == sorted(p.name for p in result.files)


def test_sharing_parses_reports_what_separate_runs_report(shared_tree):
    result = validate_paths([shared_tree])
    separate, seen = [], set()
    for path in sorted(shared_tree.glob("*.mem")):
        for d in analyze_file(path)[1]:
            if (d.code, d.summary, d.span) not in seen:
                seen.add((d.code, d.summary, d.span))
                separate.append(d)
    assert result.diagnostics == separate
    assert sum(d.code.startswith("E00") for d in result.diagnostics) == 1  # the syntax error, once
