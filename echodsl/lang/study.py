"""Checking a ``study`` block: the fixed setup, the profiles it compares, the seeds."""

from __future__ import annotations

from echodsl.lang import ast
from echodsl.lang.arguments import INVALID, ArgumentChecker, describe_value
from echodsl.lang.budget import sequence_tokens
from echodsl.lang.diagnostics import Diagnostic, Note, did_you_mean, error, warning
from echodsl.lang.model import Checked, Study, Variant
from echodsl.lang.schema import DEFAULT_EVAL, DEFAULT_PRESET, LIST_CLAUSES, PROFILE_CLAUSES, STUDY_CLAUSE_ORDER, STUDY_CLAUSES
from echodsl.lang.source import Span


def check_study(decl: ast.StudyDecl, decls: dict, checked: Checked, diagnostics: list[Diagnostic]) -> Study | None:
    before = len(diagnostics)
    checker = ArgumentChecker(diagnostics)
    seen: dict[str, Span] = {}
    values: dict[str, object] = {}
    for clause in decl.clauses:
        keyword = clause.keyword.name
        if keyword not in STUDY_CLAUSE_ORDER:
            hint = did_you_mean(keyword, STUDY_CLAUSE_ORDER)
            if keyword in PROFILE_CLAUSES:
                hint = f"`{keyword}` is a profile clause; a study takes " + ", ".join(STUDY_CLAUSE_ORDER)
            diagnostics.append(error("E101", f"unknown study clause `{keyword}`", clause.keyword.span, hint=hint))
            continue
        if keyword in seen:
            diagnostics.append(error("E107", f"clause `{keyword}` written twice", clause.keyword.span,
                                     notes=(Note("first written here", seen[keyword]),)))
            continue
        seen[keyword] = clause.keyword.span
        if keyword not in LIST_CLAUSES and len(clause.values) > 1:
            diagnostics.append(error("E122", f"clause `{keyword}` takes one value", clause.values[1].span,
                                     hint="only eval, profiles and seeds take comma lists"))
            continue
        if keyword == "profiles":
            values[keyword] = _profiles(clause, decls, checked, diagnostics)
        elif keyword == "seeds":
            values[keyword] = _seeds(clause, diagnostics)
        elif keyword == "eval":
            values[keyword] = _eval(clause, checker, diagnostics)
        else:
            call = checker.call(clause.values[0], STUDY_CLAUSES[keyword], keyword, keyword, allow_sweep=False)
            if call is not INVALID and keyword == "backbone":
                call = _backbone(call, diagnostics)
            if call is not INVALID and keyword == "data":
                call = _data(call, diagnostics)
            values[keyword] = call
    if "profiles" not in seen:
        diagnostics.append(error("E119", f"study `{decl.name.name}` has no `profiles` clause", decl.name.span,
                                 hint="list the profiles it compares: profiles a, b, c"))
    if len(diagnostics) > before or any(v is INVALID for v in values.values()):
        return None
    profiles = values["profiles"]
    if profiles is None:  # a listed profile has errors of its own, already reported
        return None
    resolved = {k: Variant.from_json(values[k].to_plain()) if k in values else _default(k) for k in ("backbone", "data", "train")}
    study = Study(
        name=decl.name.name,
        eval=tuple(Variant.from_json(v.to_plain()) for v in values["eval"]) if "eval" in values
        else tuple(Variant.from_json(e) for e in DEFAULT_EVAL),
        profiles=tuple(p for p, _ in profiles),
        seeds=tuple(values.get("seeds", (0,))),
        **resolved,
    )
    _budget(study, profiles, diagnostics)
    return study


def _default(keyword: str) -> Variant:
    if keyword == "backbone":
        return Variant(variant="wan", args={"preset": DEFAULT_PRESET, "config": None})
    variant, params = next(iter(STUDY_CLAUSES[keyword].items()))
    return Variant(variant=variant, args={k: p.default for k, p in params.items()})


def _backbone(call, diagnostics: list[Diagnostic]):
    preset, config = call.args.get("preset"), call.args.get("config")
    if preset is not None and config is not None:
        diagnostics.append(error("E120", "backbone takes `preset` or `config`, not both", call.arg_spans["config"],
                                 notes=(Note("preset given here", call.arg_spans["preset"]),),
                                 hint="a config file fully describes the model; drop the preset"))
        return INVALID
    if preset is None and config is None:
        call.args["preset"] = DEFAULT_PRESET
    return call


def _data(call, diagnostics: list[Diagnostic]):
    if call.variant == "mind" and call.args.get("split") == "test":
        span = call.arg_spans.get("split")
        diagnostics.append(error("E126", "data mind(split = test) trains on MIND's test clips, the clips "
                                 "`echodsl export mind` is scored on", span,
                                 hint="train on split = train (the default); the test clips are for evaluation only"))
        return INVALID
    return call


def _profiles(clause: ast.Clause, decls: dict, checked: Checked, diagnostics: list[Diagnostic]):
    listed: dict[str, Span] = {}
    out, broken = [], False
    names = [n for n, d in decls.items() if isinstance(d, ast.ProfileDecl)]
    for value in clause.values:
        if not (isinstance(value, ast.Call) and value.args is None):
            diagnostics.append(error("E105", f"`profiles` lists profile names, found {describe_value(value)}",
                                     value.span))
            continue
        name = value.name.name
        if name in listed:
            diagnostics.append(error("E123", f"profile `{name}` listed twice", value.span,
                                     notes=(Note("first listed here", listed[name]),)))
            continue
        listed[name] = value.span
        if name not in decls:
            diagnostics.append(error("E111", f"unknown profile `{name}`", value.span, hint=did_you_mean(name, names)))
        elif isinstance(decls[name], ast.StudyDecl):
            diagnostics.append(error("E121", f"`{name}` is a study, not a profile", value.span,
                                     notes=(Note("declared here", decls[name].name.span),)))
        elif name in checked.failed:
            broken = True
        else:
            out.extend((checked.profiles[m], value.span) for m in checked.members[name])
    return None if broken else out


def _seeds(clause: ast.Clause, diagnostics: list[Diagnostic]) -> list[int]:
    seeds: dict[int, Span] = {}
    for value in clause.values:
        if not (isinstance(value, ast.Literal) and value.kind == "int"):
            diagnostics.append(error("E105", f"`seeds` lists integers, found {describe_value(value)}", value.span))
        elif value.value < 0:
            diagnostics.append(error("E106", f"seed {value.text} is out of range", value.span, hint="seeds must be ≥ 0"))
        elif value.value in seeds:
            diagnostics.append(error("E123", f"seed {value.text} listed twice", value.span,
                                     notes=(Note("first listed here", seeds[value.value]),)))
        else:
            seeds[value.value] = value.span
    return list(seeds)


def _eval(clause: ast.Clause, checker: ArgumentChecker, diagnostics: list[Diagnostic]):
    out, spans = [], []
    for value in clause.values:
        call = checker.call(value, STUDY_CLAUSES["eval"], "eval", "eval", allow_sweep=False)
        if call is INVALID:
            return INVALID
        if call.to_plain() in [c.to_plain() for c in out]:
            first = spans[[c.to_plain() for c in out].index(call.to_plain())]
            diagnostics.append(error("E123", "evaluation branch listed twice", value.span,
                                     notes=(Note("first listed here", first),)))
            continue
        out.append(call)
        spans.append(value.span)
    return out


def _budget(study: Study, profiles: list, diagnostics: list[Diagnostic]) -> None:
    preset = study.backbone.get("preset")  # the language layer reads its own variants
    if preset is None:
        return  # a custom config: its geometry is known only once the model is built
    for profile, span in profiles:
        tokens, limit = sequence_tokens(profile, preset)
        if tokens > limit:
            diagnostics.append(warning(
                "W201", f"`{profile.name}` needs {tokens:,} tokens per step; preset `{preset}` is sized for {limit:,}",
                span, hint="lower k, compress the context, or use a larger preset"))


def default_setup() -> dict[str, Variant]:
    """The setup of a study that writes no backbone/data/train/eval clause."""
    return {"backbone": _default("backbone"), "data": _default("data"), "train": _default("train"),
            "eval": tuple(Variant.from_json(e) for e in DEFAULT_EVAL)}
