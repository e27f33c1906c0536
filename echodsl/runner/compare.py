"""A study's comparison, once its pairs have run: the store's table of its designs, and
what besides the memory representation differs between them (a confound)."""

from __future__ import annotations

from echodsl.runner.outcome import Outcome
from echodsl.runner.plan import Pair
from echodsl.store.confounds import Confound, design_confounds
from echodsl.store.export import Table


def study_confounds(pairs: list[Pair]) -> list[Confound]:
    """What, besides the memory representation, differs between the study's designs."""
    return design_confounds({p.profile: p.run.profile.canonical() for p in pairs})


def store_gone(outcomes: list[Outcome]) -> bool:
    """A pair gave up on the store (unreachable past the retry window): do not ask it again."""
    return any(o.store_unreachable for o in outcomes)


def has_results(outcomes: list[Outcome]) -> bool:
    """Whether the store may now hold something to compare: a pair did not fail, and the
    store was not given up on."""
    return any(o.status != "failed" for o in outcomes) and not store_gone(outcomes)


def compare_study(store_url: str, pairs: list[Pair], outcomes: list[Outcome]) -> Table | None:
    """The comparison table of the study's finished runs under the pairs' setup (None when
    there is nothing to compare). Paired differences to the anchor-only design, when the
    study has one: with few seeds the interval over seed means separates nothing;
    probe-level pairing can."""
    from echodsl.store import Store
    from echodsl.store.compare import compare
    from echodsl.store.export import comparison_table
    from echodsl.store.paired import AUTO

    if not has_results(outcomes):
        return None
    with Store.open(store_url, create=False) as store:
        return comparison_table(compare(store, study=pairs[0].study, setup=pairs[0].setup_hash, baseline=AUTO))
