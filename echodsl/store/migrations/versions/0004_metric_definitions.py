"""Metric definitions travel with the values: what each run's values of a metric mean.

Adds ``metric_definitions``: per (run, branch, metric) the definition the values were
computed under (``psnr/v1``), the resolution they were scored at and the definition's
text. Runs stored before it have no rows there; ``results compare`` reports them as
unrecorded rather than guessing.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# A frozen copy of the value set as of this revision (never imported from the models).
BRANCHES = "branch IN ('replay', 'return_in', 'return_open', 'train', 'write', 'memory')"


def upgrade() -> None:
    op.create_table(
        "metric_definitions",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(32), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("definition", sa.String(64), nullable=False),
        sa.Column("resolution", sa.String(32), nullable=True),
        sa.Column("detail_json", sa.Text(), nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(BRANCHES, name="ck_metric_definitions_branch"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name="fk_metric_definitions_run_id_runs"),
        sa.PrimaryKeyConstraint("run_id", "branch", "key", name="pk_metric_definitions"),
    )


def downgrade() -> None:
    op.drop_table("metric_definitions")
