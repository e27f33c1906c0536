"""Property tests: specs generated from the vocabulary round-trip, format idempotently,
keep comments and hashes, and no mutation of a valid spec escapes as anything but SpecError."""

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import echodsl
from echodsl.lang.formatter import format_module
from echodsl.lang.schema import PROFILE_CLAUSES, READOUT_REQUIRES

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _int(lo=1, hi=64):
    return st.integers(lo, hi).map(str)


def _float(lo=0.0, hi=0.99):
    return st.floats(lo, hi, allow_nan=False).map(lambda f: repr(round(f, 4)))


@st.composite
def call(draw, variant, args):
    """`variant(a = x, ...)` with a random subset of the optional args in random order."""
    chosen = [(k, v) for k, v in args.items() if v[0] or draw(st.booleans())]
    chosen = draw(st.permutations(chosen))
    if not chosen and draw(st.booleans()):
        return variant
    parts = [f"{k}{draw(st.sampled_from([' = ', '=', '  =  ']))}{draw(v[1])}" for k, v in chosen]
    trailing = draw(st.sampled_from(["", ","]))
    return f"{variant}(" + ", ".join(parts) + trailing + ")" if parts else f"{variant}()"


def maybe_sweep(strategy):
    sweep = st.lists(strategy, min_size=1, max_size=3, unique=True).map(lambda xs: "{" + ", ".join(xs) + "}")
    return st.one_of(strategy, strategy, sweep)


@st.composite
def profile_body(draw):
    storage = draw(st.sampled_from(list(PROFILE_CLAUSES["storage"])))
    clauses = {}
    k = draw(st.integers(2, 32))
    if storage == "frames":
        select = st.sampled_from(["recent", "uniform", "fov", "fov(samples = 8)", "fov(recency = 0.5, samples = 3)"])
        clauses["storage"] = draw(call("frames", {"k": (True, st.just(str(k))), "select": (False, select)}))
        variant = draw(st.sampled_from(["none", "weights", "length", "hybrid"]))
        if variant in ("length", "hybrid"):
            clauses["compression"] = draw(call(variant, {"ratio": (True, maybe_sweep(_int(2, k)))}))
        elif draw(st.booleans()):
            clauses["compression"] = variant
    elif storage == "summary":
        grid = st.tuples(st.integers(1, 9), st.integers(1, 9)).map(lambda t: f"{t[0]}x{t[1]}")
        clauses["storage"] = draw(call("summary", {"grid": (False, grid), "pool": (False, st.sampled_from(["mean", "max"]))}))
    elif storage == "state":
        clauses["storage"] = draw(call("state", {"dim": (False, maybe_sweep(_int()))}))
        rec = draw(st.sampled_from(["none", "gated_ema", "causal_conv", "block_scan", "smoothing"]))
        params = {"gated_ema": {"every": (False, _int(1, 8))},
                  "causal_conv": {"kernel": (False, _int(2, 5)), "every": (False, _int(1, 8))},
                  "block_scan": {"block": (False, st.just("2x2")), "state": (False, _int()), "every": (False, _int(1, 8))},
                  "smoothing": {"alpha": (False, maybe_sweep(_float(0.01, 0.99)))}}.get(rec, {})
        clauses["recurrence"] = draw(call(rec, params))
    elif draw(st.booleans()):
        clauses["storage"] = "none"
    readouts = ["none"] + [r for r, needs in READOUT_REQUIRES.items() if storage in needs]
    if draw(st.booleans()):
        readout = draw(st.sampled_from(readouts))
        params = {"joint": {"placement": (False, st.sampled_from(["suffix", "prefix"]))},
                  "cross_attention": {"heads": (False, _int(1, 8)),
                                      "dedicated": (False, st.sampled_from(["true", "false"]))}}.get(readout, {})
        clauses["readout"] = draw(call(readout, params))
    if draw(st.booleans()):
        clauses["action"] = draw(st.sampled_from(["none", "relative_rt", "relative_rt(inject = post_attn)"]))
    order = draw(st.permutations(list(clauses)))
    return [(c, clauses[c]) for c in order]


comment_text = st.text(alphabet=string.ascii_letters + string.digits + " #\"{}()=,.", max_size=20)


@st.composite
def spec(draw):
    names = draw(st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), min_size=1, max_size=4,
                          unique=True))
    ws = st.sampled_from([" ", "\n", "  \n\n", "\t"])
    out = []
    for name in names:
        if draw(st.booleans()):
            out.append(f"# {draw(comment_text)}\n")
        body = draw(profile_body())
        lines = []
        for keyword, value in body:
            trail = f"  # {draw(comment_text)}" if draw(st.booleans()) else ""
            lines.append(f"{draw(ws)}{keyword}{draw(ws)}{value}{trail}\n")
        out.append(f"profile {name} {{" + "".join(lines) + "}\n")
    if draw(st.booleans()):
        out.append(f"study s_tudy {{ profiles {', '.join(names)} seeds 0, 1 }}\n")
    return "".join(out)


@SETTINGS
@given(spec())
def test_generated_specs_round_trip(text):
    doc = echodsl.loads(text)
    again = echodsl.loads(echodsl.dumps(doc))
    assert again == doc
    for profile in doc.profiles.values():
        single = echodsl.loads(echodsl.dumps(profile))
        (member,) = single.profiles.values()
        assert member.canonical() == profile.canonical()
        assert member.spec_hash == profile.spec_hash


@SETTINGS
@given(spec())
def test_fmt_is_idempotent_and_keeps_comments_and_hashes(text):
    module, diags = echodsl.parse(text)
    assert not diags
    once = format_module(module)
    twice_module, _ = echodsl.parse(once)
    assert format_module(twice_module) == once
    assert [c.text.rstrip() for c in twice_module.comments] == [c.text.rstrip() for c in module.comments]
    before = {n: p.spec_hash for n, p in echodsl.loads(text).profiles.items()}
    after = {n: p.spec_hash for n, p in echodsl.loads(once).profiles.items()}
    assert before == after


@SETTINGS
@given(spec(), st.data())
def test_mutations_only_raise_spec_error(text, data):
    chars = list(text)
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        i = data.draw(st.integers(0, max(0, len(chars) - 1)))
        junk = data.draw(st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from(list("{}(),=\"#x-.\n")))
        if op == "insert":
            chars.insert(i, junk)
        elif op == "delete" and chars:
            del chars[i]
        elif chars:
            chars[i] = junk
    mutated = "".join(chars)
    try:
        echodsl.loads(mutated)
    except echodsl.SpecError as exc:
        assert exc.diagnostics and all(d.code for d in exc.diagnostics)
        str(exc)


@SETTINGS
@given(st.binary(max_size=200))
def test_random_bytes_never_traceback(data):
    from echodsl.lang.parser import decode

    text, diagnostics = decode(data, "junk.mem")
    if text is not None:
        doc, diagnostics = echodsl.analyze(text)
    assert text is not None or diagnostics
