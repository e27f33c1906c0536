"""Every module of the package imports with the README's install (the `all` extra).

A module whose import fails (an undeclared dependency, a cycle) is one failing test
here, not a collection error that hides the rest of the suite.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil

import pytest

import echodsl


# Modules that run something when imported: the `python -m` entry points, and the
# migration environment that only alembic executes. They are compiled, not imported.
RUN_ON_IMPORT = {"echodsl.__main__", "echodsl.cli.__main__", "echodsl.runner.__main__",
                 "echodsl.store.migrations.env"}


def _modules() -> list[str]:
    names = [echodsl.__name__]
    for info in pkgutil.walk_packages(echodsl.__path__, prefix="echodsl."):
        names.append(info.name)
    return sorted(names)


MODULES = _modules()


def test_the_walk_sees_the_whole_package():
    # Guards the walk itself: a broken walk would make every test below vacuous.
    assert {"echodsl.lang.parser", "echodsl.eval.calibration", "echodsl.store.store",
            "echodsl.runner.worker"} | RUN_ON_IMPORT <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_module_imports(name):
    if name in RUN_ON_IMPORT:
        spec = importlib.util.find_spec(name)
        compile(spec.loader.get_source(name), spec.origin, "exec")
    else:
        importlib.import_module(name)


def test_the_grammar_ships_with_the_package():
    # grammar/ lives outside echodsl/ in the source tree and is mapped into the wheel.
    from importlib import resources
    assert "start" in resources.files("echodsl.grammar").joinpath("mem.lark").read_text()
