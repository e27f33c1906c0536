"""Alembic migrations of the results store, configured in code (no alembic.ini).

:mod:`echodsl.store.migrate` runs them; a fresh database is created by upgrading an
empty one to head. Each revision is self-contained: it spells out its tables and never
imports the ORM classes of :mod:`echodsl.store.schema`, which change over time.

Adding a revision: copy the newest file in ``versions/``, set ``revision`` to a new id and
``down_revision`` to the previous head, write ``upgrade()``/``downgrade()`` with ``op``
calls, change ``schema.py`` to match, and regenerate ``schema.sqlite.sql`` with
``python -m echodsl.store.migrate --dump-schema echodsl/store/schema.sqlite.sql``. The
test suite checks that the ORM classes and the migrated schema agree.
"""
