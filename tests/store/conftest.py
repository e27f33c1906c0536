"""Fixtures for the results-store tests: real SQLite files under tmp_path, and (through
``store_url``) the same tests on a real PostgreSQL server started for the session."""

from __future__ import annotations

import pytest
from store_fixtures import load_study, populate

from echodsl.store import Store
from tests.postgres import postgres_server, store_url  # noqa: F401 - fixtures


@pytest.fixture(scope="session")
def study():
    return load_study()


@pytest.fixture(scope="session")
def filled_store(tmp_path_factory, study):
    """A store with the fixture study's runs, all finished (see store_fixtures.populate).
    Shared by the session: tests only read it."""
    path = tmp_path_factory.mktemp("filled") / "echodsl.db"
    with Store.open(path) as store:
        populate(store, study)
    return path
