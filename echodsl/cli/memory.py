"""``echodsl explain --memory``: a profile's peak training memory at its study's shape.

The study's recipe is estimated as written (its checkpointing, dtype, batch and
accumulation; bf16 autocast, as on a GPU); when it does not fit the card, the same
profile with ``checkpointing = blocks`` (and then bf16 weights) is shown beside it, so the
fix is one line of the spec. Every torch import stays inside the functions.
"""

from __future__ import annotations

from pathlib import Path

from echodsl.errors import UsageError


def study_of(doc, profile: str, study: str | None):
    """The study whose shape ``profile`` is estimated at: ``study``, else any study listing
    it when they all share one setup (backbone and recipe), else None (the default setup)."""
    if study is not None:
        return doc.study(study)
    holders = [s for s in doc.studies.values() if any(p.name == profile for p in s.profiles)]
    shapes = {(repr(s.backbone.to_json()), repr(s.train.to_json())) for s in holders}
    if len(shapes) > 1:
        raise UsageError(f"profile `{profile}` is in studies of different shapes: "
                         + ", ".join(s.name for s in holders), hint="pass --study NAME")
    return holders[0] if holders else None


def run_estimates(run, attention: str = "flash", card_gb: float = 80.0) -> list:
    """The estimate of ``run``'s recipe, and, while it does not fit, the recipe with
    checkpointing and then bf16 weights (each a ``MemoryEstimate``)."""
    from echodsl.compiler.memory_estimate import count_parameters, estimate
    from echodsl.runtime.assemble import plan_of

    flow, plan = run.flow, plan_of(run)
    params = count_parameters(plan)
    base = dict(batch=max(1, flow.batch // flow.accumulate), autocast=True, attention=attention, parameters=params)
    out = [estimate(plan, checkpointing=flow.checkpointing, dtype=flow.dtype, **base)]
    for change in ({"checkpointing": "blocks", "dtype": flow.dtype}, {"checkpointing": "blocks", "dtype": "bf16"}):
        if out[-1].fits(card_gb) or (change["checkpointing"], change["dtype"]) == (out[-1].checkpointing, out[-1].dtype):
            continue
        out.append(estimate(plan, **change, **base))
    return out


def memory_lines(spec: Path, profile: str, study: str | None, attention: str, card_gb: float) -> tuple[list[str], bool, list]:
    """Lines to print, whether the study's own recipe fits, and the estimates."""
    import echodsl
    from echodsl.runtime.assemble import RunConfig

    doc = echodsl.load(spec)
    chosen = doc.profile(profile)
    s = study_of(doc, chosen.name, study)
    base = spec.resolve().parent
    run = RunConfig.from_study(s, chosen, s.seeds[0], base) if s else RunConfig.standalone(chosen, 0, base)
    estimates = run_estimates(run, attention, card_gb)
    where = f"study {s.name}" if s else "the default setup"
    lines = [f"peak training memory per process ({where}, {run.settings.backbone.base_preset}):",
             "  " + estimates[0].line(card_gb)]
    lines += ["  with " + ("checkpointing = blocks" if e.dtype == estimates[0].dtype else
                           "checkpointing = blocks, dtype = bf16") + ": " + e.line(card_gb).split(": ", 1)[1]
              for e in estimates[1:]]
    return lines, estimates[0].fits(card_gb), estimates


def dry_run_warnings(pairs, attention: str = "flash", card_gb: float = 80.0) -> list[str]:
    """One warning per profile of planned pairs whose recipe cannot fit the card."""
    seen, out = set(), []
    for pair in pairs:
        run = pair.run
        if run.profile.name in seen:
            continue
        seen.add(run.profile.name)
        estimates = run_estimates(run, attention, card_gb)
        if not estimates[0].fits(card_gb):
            fix = next((e for e in estimates[1:] if e.fits(card_gb)), None)
            hint = (f"; with flow(checkpointing = blocks{', dtype = bf16' if fix.dtype == 'bf16' else ''}) "
                    f"it needs {fix.total / 1e9:.1f} GB" if fix else "")
            out.append(f"warning: profile {run.profile.name} needs about {estimates[0].total / 1e9:.1f} GB "
                       f"per process, more than a {card_gb:g} GB card{hint}")
    return out
