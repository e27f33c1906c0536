"""One claim per run identity: the row concurrent runners lock to decide who trains a pair.

Adds ``run_claims`` (primary key = the run identity, so there is exactly one per pair) and
``runs.owner`` (which process trains the run: ``host:pid:start``), so a runner can tell a
live claim from a dead one and a taken-over run's old process can tell it lost the run.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("owner", sa.String(255), nullable=True))
    op.create_table(
        "run_claims",
        sa.Column("spec_hash", sa.String(64), nullable=False),
        sa.Column("setup_hash", sa.String(64), nullable=False),
        sa.Column("build_hash", sa.String(64), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("claimed_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("spec_hash", "setup_hash", "build_hash", "seed", name="pk_run_claims"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name="fk_run_claims_run_id_runs"),
    )


def downgrade() -> None:
    op.drop_table("run_claims")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("owner")
