"""Alembic environment: runs on the connection :mod:`echodsl.store.migrate` passes in.

The caller owns the transaction (for SQLite a ``BEGIN IMMEDIATE`` that serialises
concurrent first opens), so this file only configures the context and runs.
"""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
