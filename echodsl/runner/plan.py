"""What a study asks for: one job per (profile × seed), each with a stable identity and run
directory, so a re-run finds what is already done and resumes what was interrupted."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from echodsl.lang.api import Document
from echodsl.lang.diagnostics import did_you_mean
from echodsl.errors import UsageError


@dataclass(frozen=True)
class Pair:
    """One run of a study: the unit that is trained, evaluated and recorded."""

    study: str
    profile: str
    seed: int
    spec: Path  # the spec file (resolved)
    spec_hash: str
    setup_hash: str
    run_dir: Path
    steps: int | None = None  # a --steps override (part of the setup hash when given)

    @property
    def label(self) -> str:
        return f"{self.profile} (seed {self.seed})"

    def to_json(self) -> str:
        data = {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items()}
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Pair":
        data = json.loads(text)
        return cls(**{**data, "spec": Path(data["spec"]), "run_dir": Path(data["run_dir"])})


def plan_study(doc: Document, spec: Path, study_name: str, runs_dir: Path | None = None,
               steps: int | None = None) -> list[Pair]:
    """Every (profile × seed) of ``study_name`` in study order."""
    from echodsl.runtime.assemble import RunConfig, safe_name  # torch only once a study is planned

    if study_name not in doc.studies:
        raise UsageError(f"no study `{study_name}` in {spec}; {did_you_mean(study_name, list(doc.studies))}")
    study = doc.studies[study_name]
    spec = spec.resolve()
    root = runs_dir or spec.parent / "runs" / safe_name(study_name)
    overrides = {"steps": steps} if steps else {}
    pairs = []
    for profile in study.profiles:
        for seed in study.seeds:
            run = RunConfig.from_study(study, profile, seed, spec.parent, overrides=overrides)
            directory = root / f"{safe_name(profile.name)}-s{seed}-{profile.spec_hash[:8]}-{run.setup_hash[:8]}"
            pairs.append(Pair(study_name, profile.name, seed, spec, profile.spec_hash, run.setup_hash,
                              directory, steps))
    return pairs
