"""The ``memory`` metric branch (memory-use diagnostics of trained models).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen copies of the value sets as of this revision (never imported from the models).
OLD = "branch IN ('replay', 'return_in', 'return_open', 'train', 'write')"
NEW = "branch IN ('replay', 'return_in', 'return_open', 'train', 'write', 'memory')"
CASE_STATUSES = "status IN ('ok', 'failed')"


def _tables(branches: str) -> list[sa.Table]:
    """The three tables with a branch CHECK, as 0001 created them, with ``branches``.

    SQLite cannot alter a CHECK: each table is recreated from these definitions (given, not
    reflected as alembic's batch mode does, whose constraint order varies between runs)."""
    meta = sa.MetaData()
    fk = lambda name: sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name=f"fk_{name}_run_id_runs")  # noqa: E731
    sa.Table("runs", meta, sa.Column("run_id", sa.Integer(), primary_key=True))
    return [
        sa.Table(
            "metrics", meta,
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("run_id", sa.Integer(), nullable=False),
            sa.Column("branch", sa.String(32), nullable=False),
            sa.Column("key", sa.String(64), nullable=False),
            sa.Column("value", sa.Float(53), nullable=False),
            sa.Column("is_nan", sa.Boolean(), nullable=False),
            sa.Column("step", sa.BigInteger(), nullable=True),
            sa.Column("chunk", sa.Integer(), nullable=True),
            sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint("id", name="pk_metrics"),
            fk("metrics"),
            sa.CheckConstraint(branches, name="ck_metrics_branch"),
            sa.Index("ix_metrics_run_id_branch_key", "run_id", "branch", "key"),
        ),
        sa.Table(
            "latest_metrics", meta,
            sa.Column("run_id", sa.Integer(), nullable=False),
            sa.Column("branch", sa.String(32), nullable=False),
            sa.Column("key", sa.String(64), nullable=False),
            sa.Column("chunk", sa.Integer(), nullable=False),
            sa.Column("value", sa.Float(53), nullable=False),
            sa.Column("is_nan", sa.Boolean(), nullable=False),
            sa.Column("step", sa.BigInteger(), nullable=True),
            sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint("run_id", "branch", "key", "chunk", name="pk_latest_metrics"),
            fk("latest_metrics"),
            sa.CheckConstraint(branches, name="ck_latest_metrics_branch"),
        ),
        sa.Table(
            "case_results", meta,
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("run_id", sa.Integer(), nullable=False),
            sa.Column("branch", sa.String(32), nullable=False),
            sa.Column("case_id", sa.String(255), nullable=False),
            sa.Column("judge", sa.String(64), nullable=False),
            sa.Column("judge_version", sa.String(64), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("overall", sa.Float(53), nullable=True),
            sa.Column("scores_json", sa.Text(), nullable=False),
            sa.Column("raw_response", sa.Text(), nullable=True),
            sa.Column("error", sa.Text(), nullable=True),
            sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint("id", name="pk_case_results"),
            fk("case_results"),
            sa.CheckConstraint(branches, name="ck_case_results_branch"),
            sa.CheckConstraint(CASE_STATUSES, name="ck_case_results_status"),
            sa.UniqueConstraint("run_id", "branch", "case_id", "judge",
                                name="uq_case_results_run_id_branch_case_id_judge"),
        ),
    ]


def _recreate(branches: str) -> None:
    if op.get_bind().dialect.name != "sqlite":  # elsewhere a CHECK is altered in place
        for table in _tables(branches):
            op.drop_constraint(f"ck_{table.name}_branch", table.name, type_="check")
            op.create_check_constraint(f"ck_{table.name}_branch", table.name, branches)
        return
    for table in _tables(branches):
        old = f"_old_{table.name}"
        for index in table.indexes:
            op.drop_index(index.name, table_name=table.name)
        op.rename_table(table.name, old)
        table.create(op.get_bind())  # with its indexes, constraints in declaration order
        columns = ", ".join(c.name for c in table.columns)
        op.execute(f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {old}")
        op.drop_table(old)


def upgrade() -> None:
    _recreate(NEW)


def downgrade() -> None:
    for table in ("latest_metrics", "metrics", "case_results"):
        op.execute(f"DELETE FROM {table} WHERE branch = 'memory'")
    _recreate(OLD)
