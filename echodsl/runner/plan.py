"""What a study asks for: one job per (profile × seed), each with a stable identity and run
directory, so a re-run finds what is already done and resumes what was interrupted.

A planned :class:`Pair` carries everything its run needs, resolved at plan time: the
profile, the setup (with any ``--steps`` override), the seed, the hashes and the spec's
source text. The worker trains exactly that, wherever it runs (in this process, a
``--jobs`` subprocess, under torchrun, on SLURM); it never reads the spec file again, so
editing the spec after planning cannot change what a planned run trains or records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from echodsl.errors import UsageError
from echodsl.lang.api import Document
from echodsl.lang.diagnostics import did_you_mean
from echodsl.lang.model import Profile

if TYPE_CHECKING:
    from echodsl.runtime.assemble import RunConfig
    from echodsl.store.records import RunIdentity


@dataclass(frozen=True)
class Pair:
    """One run of a study as planned: the unit that is trained, evaluated and recorded.

    ``run`` is what to run (a :class:`~echodsl.runtime.assemble.RunConfig`: profile, setup
    with overrides applied, seed); the pair adds where it runs in its study (the run
    directory), the spec text it was planned from, and the identity the store knows it by.
    ``spec_hash`` and ``setup_hash`` are read off ``run``, never given: they cannot
    disagree with it. Pairs compare (and hash) by their spec file, run directory and hashes."""

    spec: Path  # the spec file it was planned from (resolved; for messages and reports)
    run_dir: Path
    run: "RunConfig" = field(compare=False, repr=False)  # profile, setup (overrides applied), seed
    source: str = field(compare=False, repr=False)  # the spec file's text at plan time
    spec_hash: str = field(init=False)  # the memory design (Profile.spec_hash)
    setup_hash: str = field(init=False)  # backbone, data, train, eval (Study.setup_hash, overrides applied)

    def __post_init__(self) -> None:
        object.__setattr__(self, "spec_hash", self.run.profile.spec_hash)
        object.__setattr__(self, "setup_hash", self.run.setup_hash)

    @property
    def identity(self) -> "RunIdentity":
        """The key the results store knows this run by (equal identity: the same experiment)."""
        from echodsl.compiler import build_hash
        from echodsl.store.records import RunIdentity

        return RunIdentity(self.spec_hash, self.setup_hash, build_hash(), self.seed)

    @property
    def study(self) -> str:
        return self.run.study or ""

    @property
    def profile(self) -> str:
        return self.run.profile.name

    @property
    def seed(self) -> int:
        return self.run.seed

    @property
    def label(self) -> str:
        return f"{self.profile} (seed {self.seed})"

    def to_json(self) -> str:
        """Everything the worker needs, for a worker in another process."""
        return json.dumps({"spec": str(self.spec), "spec_hash": self.spec_hash, "setup_hash": self.setup_hash,
                           "run_dir": str(self.run_dir), "profile": self.run.profile.to_json(),
                           "setup": self.run.to_json(), "source": self.source}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Pair":
        """The inverse of :meth:`to_json`; refuses data whose hashes no longer match."""
        from echodsl.runtime.assemble import RunConfig

        data = json.loads(text)
        run = RunConfig.from_json(Profile.from_json(data["profile"]), data["setup"])
        pair = cls(Path(data["spec"]), Path(data["run_dir"]), run, data["source"])
        if (pair.spec_hash, pair.setup_hash) != (data["spec_hash"], data["setup_hash"]):
            raise UsageError(f"the planned run {pair.label} does not match its hashes: "
                             "it was planned by another echodsl version", hint="plan the study again")
        return pair


def plan_study(doc: Document, spec: Path, study_name: str, runs_dir: Path | None = None,
               steps: int | None = None) -> list[Pair]:
    """Every (profile × seed) of ``study_name`` in study order. ``doc`` is ``spec`` loaded;
    ``steps`` overrides the study's training steps."""
    from echodsl.runtime.assemble import RunConfig, safe_name  # torch only once a study is planned

    if study_name not in doc.studies:
        raise UsageError(f"no study `{study_name}` in {spec}; {did_you_mean(study_name, list(doc.studies))}")
    study = doc.studies[study_name]
    spec = spec.resolve()
    source = spec.read_text(encoding="utf-8")
    root = runs_dir or spec.parent / "runs" / safe_name(study_name)
    overrides = {"steps": steps} if steps else {}
    pairs = []
    for profile in study.profiles:
        for seed in study.seeds:
            run = RunConfig.from_study(study, profile, seed, spec.parent, overrides=overrides)
            directory = root / f"{safe_name(profile.name)}-s{seed}-{profile.spec_hash[:8]}-{run.setup_hash[:8]}"
            pairs.append(Pair(spec, directory, run, source))
    return pairs
