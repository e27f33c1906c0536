"""Syntax trees -> resolved ``Profile``/``Study`` models, with every problem diagnosed.

The checker never stops at the first error: each declaration is checked on its own,
a profile whose own clauses or ``extends`` chain failed is left out of later steps
(so one mistake is reported once, not once per dependant), and identical diagnostics
from several sweep members are reported once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from echodsl.lang import ast
from echodsl.lang.arguments import INVALID, ArgumentChecker, CheckedCall
from echodsl.lang.diagnostics import Diagnostic, Note, did_you_mean, error
from echodsl.lang.imports import ParsedFile
from echodsl.lang.model import Checked, Profile, Variant
from echodsl.lang.expand import MAX_NAME_BYTES, MAX_SWEEP_MEMBERS, expand, find_sweeps, member_count, member_name
from echodsl.lang.rules import check_member
from echodsl.lang.schema import PROFILE_CLAUSES, STUDY_CLAUSE_ORDER
from echodsl.lang.source import Span
from echodsl.lang.study import check_study

Decl = ast.ProfileDecl | ast.StudyDecl


@dataclass
class _Clause:
    call: CheckedCall
    keyword_span: Span
    depth: int  # 0 = written in the profile itself, 1 = its parent, ...


def check(files: list[ParsedFile]) -> tuple[Checked, list[Diagnostic]]:
    diagnostics: list[Diagnostic] = []
    result = Checked()
    decls = _declarations(files, diagnostics)
    if files:
        result.root_names = tuple(
            i.name.name for i in files[0].module.items if isinstance(i, (ast.ProfileDecl, ast.StudyDecl)))
    own: dict[str, dict[str, _Clause] | None] = {}
    for name, decl in decls.items():
        if isinstance(decl, ast.ProfileDecl):
            own[name] = _own_clauses(decl, diagnostics)
    effective: dict[str, dict[str, _Clause] | None] = {}
    for name in own:
        _effective(name, decls, own, effective, [], diagnostics)
    for name, clauses in effective.items():
        if clauses is None:
            result.failed.add(name)
            continue
        before = len(diagnostics)
        members = _members(name, clauses, diagnostics, decls[name].name.span)
        if len(diagnostics) > before:
            result.failed.add(name)
            continue
        result.members[name] = tuple(p.name for p in members)
        result.profiles.update((p.name, p) for p in members)
    for name, decl in decls.items():
        if isinstance(decl, ast.StudyDecl):
            if len(name.encode("utf-8")) > MAX_NAME_BYTES:
                diagnostics.append(error("E125", f"study name `{name[:40]}…` is {len(name.encode('utf-8'))} bytes "
                                         f"long; at most {MAX_NAME_BYTES}", decl.name.span,
                                         hint="a study's runs go in a directory named after it: use a shorter name"))
                continue
            study = check_study(decl, decls, result, diagnostics)
            if study is not None:
                result.studies[name] = study
    return result, _dedupe(diagnostics)


def _declarations(files: list[ParsedFile], diagnostics: list[Diagnostic]) -> dict[str, Decl]:
    # Imported files count as earlier than the file importing them, so a clash between
    # the file being edited and an import is reported in the file being edited.
    ordered = [(-i, item.span.start.byte, item) for i, f in enumerate(files) for item in f.module.items
               if isinstance(item, (ast.ProfileDecl, ast.StudyDecl))]
    decls: dict[str, Decl] = {}
    for _, _, item in sorted(ordered, key=lambda t: (t[0], t[1])):
        name = item.name.name
        if name in decls:
            diagnostics.append(error("E112", f"`{name}` is declared twice", item.name.span,
                                     notes=(Note("first declared here", decls[name].name.span),),
                                     hint="profiles and studies share one namespace across a file and its imports"))
            continue
        decls[name] = item
    return decls


def _own_clauses(decl: ast.ProfileDecl, diagnostics: list[Diagnostic]) -> dict[str, _Clause] | None:
    checker = ArgumentChecker(diagnostics)
    clauses: dict[str, _Clause] = {}
    ok = True
    for clause in decl.clauses:
        keyword = clause.keyword.name
        if keyword not in PROFILE_CLAUSES:
            hint = did_you_mean(keyword, tuple(PROFILE_CLAUSES))
            if keyword in STUDY_CLAUSE_ORDER:
                hint = f"`{keyword}` is a study clause; a profile takes " + ", ".join(PROFILE_CLAUSES)
            diagnostics.append(error("E101", f"unknown profile clause `{keyword}`", clause.keyword.span, hint=hint))
            ok = False
            continue
        if keyword in clauses:
            diagnostics.append(error("E107", f"clause `{keyword}` written twice", clause.keyword.span,
                                     notes=(Note("first written here", clauses[keyword].keyword_span),),
                                     hint="each clause appears at most once in a profile"))
            ok = False
            continue
        if len(clause.values) > 1:
            diagnostics.append(error("E122", f"clause `{keyword}` takes one value", clause.values[1].span,
                                     hint="only eval, profiles and seeds take comma lists"))
            ok = False
            continue
        call = checker.call(clause.values[0], PROFILE_CLAUSES[keyword], keyword, keyword, allow_sweep=True)
        if call is INVALID:
            ok = False
            continue
        clauses[keyword] = _Clause(call, clause.keyword.span, 0)
    return clauses if ok else None


def _effective(name: str, decls: dict[str, Decl], own: dict, effective: dict, stack: list[str],
               diagnostics: list[Diagnostic]) -> dict[str, _Clause] | None:
    """Own clauses over the parent's effective clauses (a written clause replaces it whole)."""
    if name in effective:
        return effective[name]
    decl = decls[name]
    if decl.extends is None:
        effective[name] = own[name]
        return own[name]
    parent = decl.extends.name
    result: dict[str, _Clause] | None = None
    if parent in stack or parent == name:
        cycle = stack[stack.index(parent):] + [name] if parent in stack else [name]
        other = decls[parent].extends
        diagnostics.append(error("E113", "extends cycle: " + " -> ".join(cycle + [parent]),
                                 decl.extends.span,
                                 notes=(Note("the cycle continues here", other.span),) if other and parent != name else (),
                                 hint="`extends` must form a tree"))
    elif parent not in decls:
        diagnostics.append(error("E110", f"`{name}` extends unknown profile `{parent}`", decl.extends.span,
                                 hint=did_you_mean(parent, [n for n, d in decls.items()
                                                             if isinstance(d, ast.ProfileDecl) and n != name])))
    elif not isinstance(decls[parent], ast.ProfileDecl):
        diagnostics.append(error("E121", f"`{parent}` is a study, not a profile", decl.extends.span,
                                 notes=(Note("declared here", decls[parent].name.span),)))
    else:
        base = _effective(parent, decls, own, effective, stack + [name], diagnostics)
        if base is not None and own[name] is not None:
            result = {k: _Clause(c.call, c.keyword_span, c.depth + 1) for k, c in base.items()}
            result.update(own[name])
    effective[name] = result
    return result


def _members(name: str, clauses: dict[str, _Clause], diagnostics: list[Diagnostic],
             name_span: Span) -> list[Profile]:
    calls = {k: c.call for k, c in clauses.items()}
    sweeps = find_sweeps(calls)
    count = member_count(sweeps)
    if count > MAX_SWEEP_MEMBERS:
        sizes = " × ".join(str(len(s.members)) for s in sweeps)
        diagnostics.append(error(
            "E124", f"`{name}` sweeps to {count:,} profiles ({sizes}); at most {MAX_SWEEP_MEMBERS:,}", name_span,
            notes=tuple(Note(f"{s.path}: {len(s.members)} values", s.span) for s in sweeps),
            hint="sweep fewer values at once, or split the sweep over several profiles"))
        return []
    profiles = []
    for bindings, concrete in expand(calls):
        located = {k: _Clause(concrete[k], c.keyword_span, c.depth) for k, c in clauses.items()}
        full_name = member_name(name, bindings)
        if len(full_name.encode("utf-8")) > MAX_NAME_BYTES:
            diagnostics.append(error(
                "E125", f"profile name `{full_name[:40]}…` is {len(full_name.encode('utf-8'))} bytes long; "
                f"at most {MAX_NAME_BYTES}", name_span,
                hint="run directories are named after profiles (sweep members add their values): "
                     "use a shorter name"))
            return []
        resolved = check_member(full_name, bindings, located, diagnostics)
        if resolved is None:
            continue
        sweep = {b.path: _plain_value(b.value) for b in bindings}
        profiles.append(Profile(name=full_name, sweep=sweep,
                                **{k: Variant.from_json(v) for k, v in resolved.items()}))
    return profiles


def _plain_value(value: Any) -> Any:
    return Variant.from_json(value.to_plain()) if isinstance(value, CheckedCall) else value


def _dedupe(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen, out = set(), []
    for d in diagnostics:
        key = (d.code, d.summary, d.span)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out
