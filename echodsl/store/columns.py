"""The metric naming contract between the runner, the evaluation and the results store.

Every metric is logged as ``(branch, name, value)``, optionally with a training ``step``
and a rollout ``chunk``:

* ``chunk`` NULL: a run-level value, the aggregate over the branch's cases and chunks.
  This is what ``results compare`` reads (one value per run, mean ± CI over seeds).
* ``chunk`` = i: the value over chunk i of the replay rollouts (0-based), for the
  replay-drift plot. Run-level and per-chunk values of one metric live side by side.
* ``step``: the training step a value belongs to (loss curves); NULL for evaluation.

Branches: ``replay`` (multi-chunk rollouts vs ground truth), ``return_in`` (in-domain
return probe), ``return_open`` (open-domain return probe, judge-scored), ``train`` and
``write`` (the write-capacity probe), ``memory`` (memory-use diagnostics of the trained
model on held-out return segments: ``gain`` = teacher-forced loss without − with memory,
attention shares, gate magnitudes, the data's memory necessity).

A metric that cannot be measured (LPIPS without local weights, every judge call failed)
is either not logged or logged as NaN; both show as ``n/a``, never as 0.
"""

from __future__ import annotations

from dataclasses import dataclass

BRANCHES = ("replay", "return_in", "return_open", "train", "write", "memory")

# Names in use; the store accepts any name matching NAME_PATTERN so a new metric needs no
# migration, but the runner and the evaluation should use these spellings.
METRICS = (
    "psnr", "ssim", "lpips",  # pixel fidelity (replay, return_in)
    "judge_overall", "judge_appearance", "judge_presence", "judge_view", "judge_scene",
    "loss", "grad_norm", "lr", "steps_per_s",  # train
    "probe_loss", "probe_accuracy",  # write
    "gain", "loss_with", "loss_without", "attn_memory", "attn_memory_chance", "attn_overlap_x",
    "gate_abs", "necessity",  # memory
)
NAME_PATTERN = r"^[a-z][a-z0-9_]*$"


@dataclass(frozen=True)
class Column:
    """One column of the paper's Table 1: where its value comes from and how it prints."""

    label: str
    branch: str
    name: str
    digits: int
    higher_is_better: bool

    @property
    def key(self) -> str:
        return f"{self.branch}/{self.name}"


TABLE1 = (
    Column("R-P", "replay", "psnr", 2, True),
    Column("R-S", "replay", "ssim", 3, True),
    Column("R-L", "replay", "lpips", 3, False),
    Column("ID-P", "return_in", "psnr", 2, True),
    Column("ID-S", "return_in", "ssim", 3, True),
    Column("ID-L", "return_in", "lpips", 3, False),
    Column("O-V", "return_open", "judge_overall", 2, True),
)
TABLE1_BY_LABEL = {c.label: c for c in TABLE1}
# ``results compare`` adds the memory gain of ``echodsl probe`` (teacher-forced loss without
# minus with memory, on held-out return segments): does the design read its memory at all?
MEMORY_GAIN = Column("MG", "memory", "gain", 4, True)
COMPARE = (*TABLE1, MEMORY_GAIN)


def column(label_or_key: str) -> Column:
    """A Table 1 column by label (``O-V``) or any metric by ``branch/name`` key."""
    if label_or_key in TABLE1_BY_LABEL:
        return TABLE1_BY_LABEL[label_or_key]
    branch, sep, name = label_or_key.partition("/")
    if not sep or branch not in BRANCHES or not name:
        from echodsl.errors import UsageError
        raise UsageError(f"unknown metric {label_or_key!r}",
                         hint=f"use a Table 1 label ({', '.join(TABLE1_BY_LABEL)}) or branch/name, e.g. replay/psnr")
    for c in TABLE1:
        if c.branch == branch and c.name == name:
            return c
    return Column(label_or_key, branch, name, 3, True)
