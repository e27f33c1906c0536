"""The branch runners: replay, in-domain return, open-domain return, write capacity.

Each runner scores its fixed cases one at a time and saves each case as soon as it is
scored (:mod:`.resultlog`), skipping cases a previous run with the same settings already
scored. Metrics are computed on frames decoded by the run's codec, against the rendered
ground truth.

* replay: ``replay_cases`` held-out walks, ``chunks`` chunks each; PSNR/SSIM(/LPIPS) per
  chunk (drift shows as a trend) and over all generated frames.
* return_in: in-domain leave-and-return probes; the same metrics on the revisit frames only.
* return_open: open-domain probes (styles training never sees); the judge compares the
  first frame with the generated revisit frames (four 0-5 subscores, overall 0-100).
* write: for the first ``write_cases`` probes of both splits, the memory that the chunk
  generating the first revisit frame read, rebuilt from the rollout's own history and
  mean-pooled into one vector; a small linear probe decodes the anchor's colour from it (held-out
  accuracy vs chance). Colour, not the full "colour pattern shape" description: at 16-32
  cases almost every full description is unique, which leaves nothing to test on.
  The read-out side of the same question is the return score of the same probes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from echodsl.data.world import Probe, World
from echodsl.eval.cases import judge_case, return_probes
from echodsl.eval.frames import save_probe_frames
from echodsl.eval.generate import Generator, replay_sequences
from echodsl.eval.judges import Judge, JudgeResult
from echodsl.eval.lpips import Lpips
from echodsl.eval.metrics import frame_metrics, from_uint8, summarize
from echodsl.eval.report import (FRAME_METRICS, JUDGE_METRICS, WRITE_METRICS, BranchReport, CaseRow, EvalConfig,
                                 MetricRow, rows_from_cases)
from echodsl.eval.resultlog import ResultLog, result_key
from echodsl.eval.write_probe import write_capacity

NO_LPIPS = "unavailable: no --lpips-weights given"


@dataclass
class Context:
    gen: Generator
    world: World
    config: EvalConfig
    out_dir: Path  # <run_dir>/eval
    lpips: Lpips | None
    judge: Judge | None
    identity: dict  # checkpoint + settings every saved case depends on
    progress: bool = True
    timings: dict[str, float] = field(default_factory=dict)

    def log(self, branch: str, **depends) -> ResultLog:
        return ResultLog(self.out_dir / f"{branch}.jsonl", result_key({**self.identity, "branch": branch, **depends}))

    def bar(self, items, desc: str, total: int | None = None):
        return tqdm(items, desc=desc, total=total, disable=not self.progress, leave=False, dynamic_ncols=True)

    @property
    def lpips_source(self) -> str | None:
        return self.lpips.source if self.lpips is not None else None


def _frame_notes(ctx: Context) -> dict[str, str]:
    return {} if ctx.lpips is not None else {"lpips": NO_LPIPS}


def run_replay(ctx: Context) -> BranchReport:
    c, gen = ctx.config, ctx.gen
    t0 = time.perf_counter()
    log = ctx.log("replay", chunks=c.chunks, lpips=ctx.lpips_source)
    done = log.load()
    frames = 1 + c.chunks * gen.per_chunk
    cases = []
    for seq in ctx.bar(replay_sequences(ctx.world, c.replay_cases, frames), "replay"):
        if seq.name not in done:
            result = gen.roll(seq, seq.name, chunks=c.chunks)
            n = result.latents.shape[0]
            pred = gen.decode(result.latents[1:])  # (n-1, 3, H, W)
            truth = from_uint8(seq.frames(list(range(1, n))))
            s = summarize(frame_metrics(pred[None], truth[None], ctx.lpips), [e - b for b, e in result.chunks])
            per_chunk = [{m: (v[k] if v is not None else None) for m, v in s.per_chunk.items()}
                         for k in range(len(result.chunks))]
            done[seq.name] = CaseRow("replay", seq.name, dict(s.overall), chunks=per_chunk,
                                     detail={"chunk_frames": [list(r) for r in result.chunks]})
            log.append(done[seq.name])
        cases.append(done[seq.name])
    ctx.timings["replay"] = time.perf_counter() - t0
    notes = _frame_notes(ctx)
    return BranchReport("replay", rows_from_cases("replay", cases, FRAME_METRICS, notes), cases, notes)


def run_probes(ctx: Context, split: str, score: bool, write: bool) -> tuple[list[CaseRow], list[CaseRow]]:
    """Roll out the ``split`` return probes once each, for the return score (the first
    ``return_cases``, if ``score``) and the write features (the first ``write_cases``, if
    ``write``); returns (return cases, write cases) in probe order."""
    c, gen = ctx.config, ctx.gen
    branch = f"return_{split}"
    t0 = time.perf_counter()
    n_score, n_write = c.return_cases if score else 0, c.write_cases if write else 0
    probes = return_probes(ctx.world, split, max(n_score, n_write), away_frames=c.away_frames)
    depends = {"lpips": ctx.lpips_source} if split == "in" else \
        {"judge": ctx.judge.name, "version": ctx.judge.version} if ctx.judge is not None else {}
    ret_log, write_log = ctx.log(branch, **depends), ctx.log("write")
    ret_done = ret_log.load() if score else {}
    write_done = write_log.load() if write else {}
    pending = []  # open-domain judge cases, scored together (a VLM judge runs them concurrently)
    for i, probe in enumerate(ctx.bar(probes, branch + (" (rollouts)" if split == "open" else ""))):
        need_score = i < n_score and probe.name not in ret_done
        need_write = i < n_write and probe.name not in write_done
        if not (need_score or need_write):
            continue
        # Chunks are seeded one by one, so stopping after the return chunk changes nothing before it.
        stop = None if need_score else (probe.revisit[0] - 1) // gen.per_chunk + 1
        result = gen.roll(probe.as_sequence(), probe.name, chunks=stop)
        if need_write:
            write_done[probe.name] = _write_case(gen, probe, result)
            write_log.append(write_done[probe.name])
        if need_score:
            frames = gen.decode(result.latents)  # (T, 3, H, W)
            save_probe_frames(ctx.out_dir, probe, frames)  # kept for the study report
            if split == "in":
                ret_done[probe.name] = _revisit_case(ctx, probe, frames)
                ret_log.append(ret_done[probe.name])
            else:
                pending.append(judge_case(probe, frames))
    if pending:
        bar = ctx.bar(None, "return_open (judge)", total=len(pending))

        def save(result: JudgeResult) -> None:
            ret_done[result.case_id] = _judged_case(result)
            ret_log.append(ret_done[result.case_id])
            bar.update()

        ctx.judge.score_many(pending, progress=save)
        bar.close()
    ctx.timings[branch] = time.perf_counter() - t0
    scored, written = [p.name for p in probes[:n_score]], [p.name for p in probes[:n_write]]
    return [ret_done[n] for n in scored if n in ret_done], [write_done[n] for n in written if n in write_done]


def _revisit_case(ctx: Context, probe: Probe, frames: torch.Tensor) -> CaseRow:
    idx = list(probe.revisit)
    scores = frame_metrics(frames[idx][None], from_uint8(probe.frames[idx])[None], ctx.lpips)
    values = {m: (float(v.double().mean()) if (v := scores.get(m)) is not None else None) for m in FRAME_METRICS}
    return CaseRow("return_in", probe.name, values, detail={"revisit": idx, "anchor": probe.anchor})


def _judged_case(result: JudgeResult) -> CaseRow:
    d = result.to_dict()
    scores = {f"judge_{k}": d[k] for k in ("overall", "appearance", "presence", "view", "scene")}
    return CaseRow("return_open", result.case_id, scores, result.status, result.error, result.judge,
                   result.version, result.raw, detail={"cached": result.cached})


def _write_case(gen: Generator, probe: Probe, result) -> CaseRow:
    feature = gen.memory_feature(result, probe.poses, probe.revisit[0])
    return CaseRow("write", probe.name, {}, detail={"label": probe.anchor.split()[1],  # "a <colour> <pattern> <shape>"
                                                    "anchor": probe.anchor, "feature": feature.tolist()})


def return_report(ctx: Context, split: str, cases: list[CaseRow]) -> BranchReport:
    branch = f"return_{split}"
    if split == "in":
        notes = _frame_notes(ctx)
        return BranchReport(branch, rows_from_cases(branch, cases, FRAME_METRICS, notes), cases, notes)
    notes = {"judge": f"{ctx.judge.name} {ctx.judge.version}"} if ctx.judge is not None else {}
    return BranchReport(branch, rows_from_cases(branch, cases, JUDGE_METRICS), cases, notes)


def write_report(ctx: Context, cases: list[CaseRow]) -> BranchReport:
    """Held-out accuracy of decoding the anchor's colour from the memory, next to chance."""
    if not ctx.gen.has_memory:
        return _no_write("unavailable: the profile stores no memory", cases)
    labels = [c.detail["label"] for c in cases]
    classes = sorted(set(labels))
    if not any(labels.count(k) >= 2 for k in classes):
        return _no_write(f"unavailable: {len(cases)} cases give no colour twice (raise --cases)", cases)
    features = torch.tensor([c.detail["feature"] for c in cases], dtype=torch.float32)  # (N, D)
    y = torch.tensor([classes.index(k) for k in labels])
    rep = write_capacity(features, y, ctx.config.write_probe)
    rows = [MetricRow("write", "write_accuracy", rep.accuracy, n=rep.n_test),
            MetricRow("write", "write_chance", rep.chance, n=rep.n_test)]
    notes = {"probe": f"{rep.kind} probe, {rep.n_train} train / {rep.n_test} test cases, {rep.classes} colours, "
                      f"train accuracy {rep.train_accuracy:.2f}",
             "read-out": "the return_in / return_open scores of the same probes"}
    return BranchReport("write", rows, cases, notes)


def _no_write(note: str, cases: list[CaseRow]) -> BranchReport:
    rows = [MetricRow("write", name, None, note=note) for name in WRITE_METRICS]
    return BranchReport("write", rows, cases, {"write": note})
