"""A planned run carries its resolved data: editing the spec after planning changes nothing
that the run trains, hashes or records, in-process or across the worker's JSON hop."""

import json
import shutil
from pathlib import Path

import pytest

from echodsl.eval.plan import EvalSizes
from echodsl.lang.api import load
from echodsl.runner.launch import LaunchOptions, run_pairs
from echodsl.runner.plan import Pair, plan_study
from echodsl.store import Store

HERE = Path(__file__).parent
SIZES = EvalSizes(cases=1, steps=1)


@pytest.fixture
def spec(tmp_path):
    shutil.copy(HERE / "mini.mem", tmp_path / "mini.mem")
    return tmp_path / "mini.mem"


def _edit(spec: Path) -> None:
    """Another design for `i2v` and another step count for the study."""
    text = spec.read_text()
    edited = text.replace("profile i2v {}", "profile i2v {\n    action      relative_rt(inject = post_attn)\n}")
    edited = edited.replace("steps = 2", "steps = 3")
    assert edited != text
    spec.write_text(edited)


def _assert_ran_as_planned(pair: Pair, planned_source: str, url: str) -> None:
    meta = json.loads((pair.run_dir / "run.json").read_text())
    assert meta["canonical"] == pair.run.profile.canonical() and meta["setup"] == pair.run.to_json()
    assert (meta["spec_hash"], meta["setup_hash"]) == (pair.spec_hash, pair.setup_hash)
    log = [json.loads(x) for x in (pair.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log if "loss" in e] == [1, 2]  # the planned 2 steps, not the edited 3
    with Store.open(url, create=False) as store:
        [run] = store.runs(study="mini")
        assert run.status == "finished" and run.steps == 2
        assert (run.identity.spec_hash, run.identity.setup_hash) == (pair.spec_hash, pair.setup_hash)
        recorded = store.spec(pair.spec_hash)
        assert recorded.source_text == planned_source
        assert recorded.canonical == pair.run.profile.canonical()
        assert list(store.setups()) == [pair.setup_hash]
        losses = [(m.step, m.value) for m in store.metrics(run.run_id, branch="train", name="loss")]
        assert losses == [(e["step"], e["loss"]) for e in log if "loss" in e]


def test_a_planned_pair_trains_and_records_what_was_planned_whatever_the_spec_says_now(spec):
    source = spec.read_text()
    pair = plan_study(load(spec), spec, "mini")[0]
    assert pair.profile == "i2v" and pair.source == source
    _edit(spec)
    replanned = plan_study(load(spec), spec, "mini")[0]  # the edit does change both hashes
    assert replanned.spec_hash != pair.spec_hash and replanned.setup_hash != pair.setup_hash
    url = str(spec.parent / "echodsl.db")
    # --jobs 2: the pair reaches a `python -m echodsl.runner` worker as JSON
    [outcome] = run_pairs([pair], url, LaunchOptions(jobs=2, sizes=SIZES))
    assert outcome.status == "finished", outcome.error
    _assert_ran_as_planned(pair, source, url)


def test_a_pair_survives_the_json_hop_with_sweeps_and_overrides(tmp_path):
    spec = tmp_path / "sweep.mem"
    spec.write_text((HERE / "mini.mem").read_text().replace("frames(k = 3,", "frames(k = {2, 3},"))
    pairs = plan_study(load(spec), spec, "mini", steps=1)
    assert [p.profile for p in pairs] == ["i2v", "ctx[storage.k=2]", "ctx[storage.k=3]"]
    for pair in pairs:
        back = Pair.from_json(pair.to_json())
        assert back == pair and back.run == pair.run and back.source == pair.source
        assert back.run.profile.sweep == pair.run.profile.sweep and back.run.train["steps"] == 1
    tampered = json.loads(pairs[1].to_json())
    tampered["profile"]["canonical"]["storage"]["args"]["k"] = 7
    with pytest.raises(Exception, match="does not match its hashes"):
        Pair.from_json(json.dumps(tampered))


def test_a_large_spec_travels_to_workers_in_a_file_not_on_the_command_line(spec):
    """One command-line argument is capped at 128 KiB on Linux; a spec may be 1 MiB."""
    from echodsl.runner.launch import worker_command

    spec.write_text(spec.read_text() + "".join(f"# padding comment {i:06d} {'x' * 80}\n" for i in range(3000)))
    assert spec.stat().st_size > 200_000
    pair = plan_study(load(spec), spec, "mini")[0]
    command = worker_command(pair, "sqlite:///unused.db", LaunchOptions(jobs=2))
    assert max(len(arg) for arg in command) < 4096
    carried = Pair.from_json(Path(command[command.index("echodsl.runner") + 1]).read_text())
    assert carried == pair and carried.source == pair.source and carried.run == pair.run
