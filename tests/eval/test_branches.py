"""The branch runners end to end on the tiny preset: every branch reports, replay per chunk,
LPIPS unavailable without weights, perfect generation scores perfectly, open-domain cases
are open-domain, a failing judge call fails one case only, and nothing scored is redone."""

import pytest
import torch

from echodsl.data.scene import STYLES
from echodsl.eval import generate
from echodsl.eval.branches import NO_LPIPS
from echodsl.eval.judges.rubric import RubricJudge
from echodsl.eval.metrics import PSNR_CAP_DB
from echodsl.eval.report import JUDGE_METRICS, EvalConfig, aggregate_reports, render
from echodsl.eval.run import evaluate
from echodsl.runtime import assemble
from echodsl.runtime.trained import load_trained

SMALL = EvalConfig(replay_cases=2, return_cases=2, write_cases=4, chunks=2, steps=2)


def test_every_branch_on_a_trained_run_then_a_rerun_redoes_nothing(trained_dir, monkeypatch):
    report = evaluate(load_trained(trained_dir), SMALL, progress=False)
    assert list(report.branches) == ["replay", "return_in", "return_open", "write"]
    rows = {(m.branch, m.name, m.chunk): m for m in report.metric_rows()}
    for chunk in (0, 1, None):
        assert rows["replay", "psnr", chunk].value > 0 and 0 <= rows["replay", "ssim", chunk].value + 1e-6 <= 1
        lp = rows["replay", "lpips", chunk]
        assert lp.value is None and lp.note == NO_LPIPS and lp.missing == 2
    assert not any(m.chunk is not None for m in report.metric_rows() if m.branch != "replay")
    assert rows["return_in", "lpips", None].value is None
    assert all(0 <= rows["return_open", n, None].value <= 100 for n in JUDGE_METRICS)
    assert {c.judge for c in report.branches["return_open"].cases} == {"rubric"}
    assert ("write", "write_accuracy", None) in rows and ("write", "write_chance", None) in rows
    assert [c.case_id for c in report.branches["replay"].cases] == ["replay0000", "replay0001"]
    assert (trained_dir / "eval" / "return_open.jsonl").is_file()
    assert "chunk 1" in render(report) and "n/a" in render(report)

    def no_rollout(*args, **kwargs):
        raise AssertionError("a case already scored was generated again")

    monkeypatch.setattr(generate, "rollout", no_rollout)
    again = evaluate(load_trained(trained_dir), SMALL, progress=False)
    assert [m.to_dict() for m in again.metric_rows()] == [m.to_dict() for m in report.metric_rows()]
    pooled = aggregate_reports([report, again])
    assert next(m for m in pooled if m.name == "psnr" and m.chunk is None).n == 4


def test_perfect_generation_scores_perfectly_and_i2v_has_no_write_capacity(untrained, monkeypatch):
    real_roll = generate.Generator.roll

    def perfect(self, seq, case_id, chunks=None):
        result = real_roll(self, seq, case_id, chunks)
        result.latents = self.cache.encode(seq.frames(list(range(result.latents.shape[0]))))
        return result

    monkeypatch.setattr(generate.Generator, "roll", perfect)
    config = EvalConfig(replay_cases=2, return_cases=2, chunks=2, steps=1)
    report = evaluate(untrained("i2v"), config, progress=False)
    for chunk in (0, 1, None):
        assert report.metric("replay", "psnr", chunk) == PSNR_CAP_DB
        assert report.metric("replay", "ssim", chunk) == pytest.approx(1.0, abs=1e-6)
    assert report.metric("return_in", "psnr") == PSNR_CAP_DB
    assert report.metric("return_in", "ssim") == pytest.approx(1.0, abs=1e-6)
    assert report.metric("return_open", "judge_overall") > 95
    assert report.metric("write", "write_accuracy") is None
    assert "no memory" in report.branches["write"].metrics[0].note


def test_open_domain_cases_are_open_styles_and_replay_is_held_out(untrained):
    trained = untrained("i2v")
    world = assemble.world_of(trained.run)
    report = evaluate(trained, EvalConfig(return_cases=3, steps=1), branches=["open"], progress=False)
    ids = [c.case_id for c in report.branches["return_open"].cases]
    assert ids == ["open0000", "open0001", "open0002"]
    for i in range(3):
        style = world.scene(i, "open").style
        assert STYLES[style]["split"] == "open" and style not in world.config.in_styles
    # Replay walks run through held-out "in" scenes, never the training scenes.
    train_frames = torch.cat([world.sequence(i).frames(list(range(world.config.frames_per_scene)))
                              for i in range(len(world))])
    for seq in generate.replay_sequences(world, 2, 9):
        first = seq.frames([0])
        assert not (train_frames == first).flatten(1).all(1).any()


def test_a_failing_judge_call_fails_one_case_and_a_rerun_scores_only_it(untrained, monkeypatch):
    trained = untrained("i2v")
    real = RubricJudge.score

    def flaky(self, case):
        if case.case_id == "open0001":
            raise ConnectionError("judge down")
        return real(self, case)

    monkeypatch.setattr(RubricJudge, "score", flaky)
    config = EvalConfig(return_cases=2, steps=1)
    first = evaluate(trained, config, branches=["open"], progress=False)
    cases = {c.case_id: c for c in first.branches["return_open"].cases}
    assert cases["open0000"].status == "ok" and cases["open0001"].status == "failed"
    assert "judge down" in cases["open0001"].error
    row = next(m for m in first.metric_rows() if m.name == "judge_overall")
    assert row.n == 1 and row.missing == 1 and row.value is not None

    monkeypatch.setattr(RubricJudge, "score", real)
    rolled = []
    real_roll = generate.Generator.roll
    monkeypatch.setattr(generate.Generator, "roll",
                        lambda self, seq, case_id, chunks=None: rolled.append(case_id) or real_roll(self, seq, case_id, chunks))
    second = evaluate(trained, config, branches=["open"], progress=False)
    assert rolled == ["open0001"]
    assert [c.status for c in second.branches["return_open"].cases] == ["ok", "ok"]
    assert second.branches["return_open"].cases[0].scores == cases["open0000"].scores


@pytest.mark.parametrize("profile", ["ctx_k3", "spatial", "scan"])
def test_write_features_are_the_memory_the_return_chunk_read(profile, untrained, monkeypatch):
    trained = untrained(profile)
    gen = generate.Generator(trained, EvalConfig(steps=1))
    probe = assemble.world_of(trained.run).probe(0, "in")
    states = []
    real_write = trained.model.write_memory
    monkeypatch.setattr(trained.model, "write_memory", lambda *a: states.append(real_write(*a)) or states[-1])
    result = gen.roll(probe.as_sequence(), probe.name)
    monkeypatch.undo()
    frame = probe.revisit[0]
    c = next(i for i, (s, e) in enumerate(result.chunks) if s <= frame < e)
    used = states[c]  # every family writes each chunk's memory anew from its retrieved history
    tokens = trained.model.storage.read(used)
    expected = tokens.tokens[0][tokens.mask[0]].mean(0)
    feature = gen.memory_feature(result, probe.poses, frame)
    assert feature.shape == expected.shape and torch.allclose(feature, expected, atol=1e-5)
