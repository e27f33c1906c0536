"""A study's HTML report, written once its pairs have run (see :mod:`echodsl.report`)."""

from __future__ import annotations

from pathlib import Path

from echodsl.runner.compare import has_results
from echodsl.runner.outcome import Outcome
from echodsl.runner.plan import Pair
from echodsl.store.naming import name_store


def report_dir(store_url: str, pairs: list[Pair]) -> Path:
    """``<store dir>/report/<study>`` for a SQLite store, else beside the spec."""
    store_file = name_store(store_url).file
    return (store_file.parent if store_file else pairs[0].spec.parent) / "report" / pairs[0].study


def write_study_report(store_url: str, pairs: list[Pair], outcomes: list[Outcome]) -> tuple[Path | None, str | None]:
    """(the page written, None), or (None, why not) when writing failed; (None, None) when
    there is nothing to report. A failure never loses the study: its results are in the
    store already, and ``echodsl report`` can write the page again."""
    if not pairs or not has_results(outcomes):
        return None, None
    try:
        from echodsl.report.page import write_report
        from echodsl.store import Store

        with Store.open(store_url, create=False) as store:
            return write_report(store, pairs[0].study, report_dir(store_url, pairs), setup=pairs[0].setup_hash), None
    except Exception as exc:  # noqa: BLE001 - never lose a finished study over its report
        return None, f"{type(exc).__name__}: {exc}"
