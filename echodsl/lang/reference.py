"""The language reference (docs/language.md), rendered from the vocabulary table itself so
the documentation can never drift from what the checker accepts.

    python -m echodsl.lang.reference > docs/language.md
"""

from __future__ import annotations

from typing import Any

from echodsl.lang import schema
from echodsl.lang.schema import Param

INTRO = """\
# The `.mem` language

A `.mem` file declares memory **profiles** (how a world model stores, compresses and
reads its history) and **studies** (which profiles to train and evaluate, with one
backbone, data set, recipe and evaluation). This page is generated from the checker's own
table (`python -m echodsl.lang.reference > docs/language.md`); a test keeps it current.

```
import "base.mem"                       # profiles of another file, path relative to this one

profile context_k5 {
    storage     frames(k = 5, select = fov(samples = 64))
    readout     joint(placement = suffix, gate = none)
}

profile context_sweep extends context_k5 {
    storage     frames(k = {1, 5, 10})    # a sweep: three profiles, context_sweep[storage.k=1] ...
}

study demo {
    backbone    wan(preset = tiny)
    data        world(scenes = 32, detail = coarse, drift = 0.0)
    train       flow(steps = 200, lr = 1e-3, batch = 8, shift = 1, pretrain = 300)
    eval        replay, return(domain = in), return(domain = open, judge = rubric)
    profiles    context_k5, context_sweep
    seeds       0, 1
}
```

Rules: each clause at most once per profile; `extends` replaces whole clauses (an omitted
clause is inherited, at the root it takes its default); names of profiles and studies
share one namespace across a file and its imports; an int is accepted where a float is
expected and nothing else is coerced. `#` starts a comment; trailing commas are allowed.
"""


def _value(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, tuple):
        return "x".join(str(x) for x in v)
    if isinstance(v, dict):  # a nested call's default
        return f"{v['variant']}()"
    return str(v)


def _param(name: str, p: Param) -> str:
    kind = " \\| ".join(p.choices) if p.type == "choice" else \
        " \\| ".join(f"{n}(...)" for n in p.variants) if p.type == "call" else p.type
    text = f"`{name}` {kind}"
    if p.range is not None:
        text += f", {p.range.describe()}"
    text += ", required" if p.required else f" = {_value(p.default)}"
    if p.doc:
        text += f" ({p.doc})"
    return text


def _table(clauses: dict[str, dict[str, dict[str, Param]]], notes: dict[str, str]) -> list[str]:
    lines = ["| clause | variant | arguments |", "|---|---|---|"]
    for clause, variants in clauses.items():
        for i, (variant, params) in enumerate(variants.items()):
            args = "; ".join(_param(n, p) for n, p in params.items()) or "–"
            note = notes.get(f"{clause}.{variant}")
            if note:
                args += f" — {note}"
            lines.append(f"| {clause if i == 0 else ''} | `{variant}`{' (default)' if i == 0 and clause in schema.PROFILE_CLAUSES and clause != 'readout' else ''} | {args} |")
    return lines


HISTORY_SELECTS = {
    "fov": "the frames that see most of the targets' field of view (points sampled in their frusta), "
           "`recency` weighting later frames in the tie-break; oldest first",
    "recent": "the k - 1 frames just before the segment, oldest first",
    "uniform": "k - 1 frames evenly spaced over the whole past, oldest first",
    "tail": "the n frames just before the segment, newest first (the released Echo-Memory code's order)",
}


def render() -> str:
    requires = {f"readout.{r}": "requires storage " + " or ".join(s) for r, s in schema.READOUT_REQUIRES.items()}
    for variant in list(schema.PROFILE_CLAUSES["compression"])[1:]:
        requires[f"compression.{variant}"] = "requires storage " + " or ".join(schema.COMPRESSION_REQUIRES)
    for variant in list(schema.PROFILE_CLAUSES["recurrence"])[1:]:
        requires[f"recurrence.{variant}"] = "requires storage " + " or ".join(schema.RECURRENCE_REQUIRES)
    out = [INTRO, "## Profile clauses", ""]
    out += _table(schema.PROFILE_CLAUSES, requires)
    out += ["", "Memory selection, the `select` argument of storage `frames`:", ""]
    out += _table({"select": schema.SELECT_VARIANTS}, {})
    out += ["", "`fov` ranks every frame before the segment by field-of-view overlap with the key camera: "
            "points are sampled in the key's frustum between 0.3 m and `far`, and a candidate scores the share "
            "it sees. `key = middle` keys on the segment's middle frame, as Context-as-Memory's "
            "R_FOV((s+e)/2, {j < s}, K-1); `key = targets` on every frame to generate. `overlap = symmetric` "
            "averages both ways (the key's frustum seen by the candidate and the candidate's seen by the key, "
            "each within `far`), so the earlier view from the same place outranks views from further back "
            "that face the same way; `bounded` counts one way within `far`; `unbounded` (one way, no far "
            "limit) scores every camera behind the key facing the same way 1.0. Ties go to the frame closest "
            "in pose to the key, then to the newer one.", ""]
    out += ["A profile that writes no `readout` gets the default of its storage:", ""]
    out += [f"- storage `{s}` → `{r['variant']}({', '.join(f'{k} = {_value(v)}' for k, v in r['args'].items())})`"
            for s, r in schema.DEFAULT_READOUT.items()]
    out += ["", "### History", "",
            "Every storage but `none` reads a history: `k` - 1 past frames (`k` counts the anchor) chosen by "
            "`select`, the same way in training and at every rollout chunk. The default is one for all: "
            f"k = {schema.DEFAULT_K}, `fov()`.", ""]
    out += [f"- `{name}`" + (f"({', '.join(_param(n, q) for n, q in params.items())})" if params else "")
            + f": {HISTORY_SELECTS[name]}" for name, params in schema.SELECT_VARIANTS.items()]
    out += ["", "`frames` stores the frames in `select`'s order, `summary` pools them, `state` scans them "
            "oldest → newest. `tail(n)` fixes k = n + 1 (a different k written beside it is an error). "
            "`state(carry = true)` folds every generated frame into the state across rollout chunks; it "
            "needs `select = recent` or `tail(n)`, so training scans the frames just before the segment."]
    out += ["", "## Study clauses", ""]
    out += _table(schema.STUDY_CLAUSES, {"backbone.wan": "exactly one of preset and config; neither means preset = tiny"})
    out += ["", "`eval` is a comma list of `replay` and `return(...)` (default: all three branches); "
            "`profiles` a comma list of profile names (a swept profile contributes all its members); "
            "`seeds` a comma list of ints (default `0`).", ""]
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
