"""Initial schema: specs, setups, runs, metrics, latest_metrics, case_results, artifacts.

Revision ID: 0001
Revises: (none)
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the value sets as of this revision (never imported from the models).
STATUSES = "status IN ('running', 'finished', 'failed', 'interrupted')"
BRANCHES = "branch IN ('replay', 'return_in', 'return_open', 'train', 'write')"
CASE_STATUSES = "status IN ('ok', 'failed')"
ARTIFACT_KINDS = "kind IN ('checkpoint', 'video', 'image', 'log', 'report', 'file')"


def _fk_run(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name=f"fk_{table}_run_id_runs")


def upgrade() -> None:
    op.create_table(
        "specs",
        sa.Column("spec_hash", sa.String(64), nullable=False),
        sa.Column("profile", sa.String(255), nullable=False),
        sa.Column("canonical_json", sa.Text(), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("spec_hash", name="pk_specs"),
    )
    op.create_table(
        "setups",
        sa.Column("setup_hash", sa.String(64), nullable=False),
        sa.Column("study", sa.String(255), nullable=False),
        sa.Column("canonical_json", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("setup_hash", name="pk_setups"),
    )
    op.create_table(
        "runs",
        sa.Column("run_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("spec_hash", sa.String(64), nullable=False),
        sa.Column("setup_hash", sa.String(64), nullable=False),
        sa.Column("build_hash", sa.String(64), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("profile", sa.String(255), nullable=False),
        sa.Column("study", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_ms", sa.BigInteger(), nullable=False),
        sa.Column("heartbeat_ms", sa.BigInteger(), nullable=False),
        sa.Column("ended_ms", sa.BigInteger(), nullable=True),
        sa.Column("git_commit", sa.String(64), nullable=True),
        sa.Column("git_dirty", sa.Boolean(), nullable=True),
        sa.Column("versions_json", sa.Text(), nullable=False),
        sa.Column("device", sa.String(255), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("compile_mode", sa.String(64), nullable=True),
        sa.Column("steps", sa.BigInteger(), nullable=True),
        sa.Column("step_time_s", sa.Float(53), nullable=True),
        sa.Column("device_hours", sa.Float(53), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name="pk_runs"),
        sa.ForeignKeyConstraint(["spec_hash"], ["specs.spec_hash"], name="fk_runs_spec_hash_specs"),
        sa.ForeignKeyConstraint(["setup_hash"], ["setups.setup_hash"], name="fk_runs_setup_hash_setups"),
        sa.CheckConstraint(STATUSES, name="ck_runs_status"),
    )
    op.create_index("ix_runs_spec_hash_setup_hash_build_hash_seed", "runs",
                    ["spec_hash", "setup_hash", "build_hash", "seed"])
    op.create_index("ix_runs_study", "runs", ["study"])
    op.create_table(
        "metrics",
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
        _fk_run("metrics"),
        sa.CheckConstraint(BRANCHES, name="ck_metrics_branch"),
    )
    op.create_index("ix_metrics_run_id_branch_key", "metrics", ["run_id", "branch", "key"])
    op.create_table(
        "latest_metrics",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(32), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("chunk", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(53), nullable=False),
        sa.Column("is_nan", sa.Boolean(), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=True),
        sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "branch", "key", "chunk", name="pk_latest_metrics"),
        _fk_run("latest_metrics"),
        sa.CheckConstraint(BRANCHES, name="ck_latest_metrics_branch"),
    )
    op.create_table(
        "case_results",
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
        _fk_run("case_results"),
        sa.CheckConstraint(BRANCHES, name="ck_case_results_branch"),
        sa.CheckConstraint(CASE_STATUSES, name="ck_case_results_status"),
        sa.UniqueConstraint("run_id", "branch", "case_id", "judge",
                            name="uq_case_results_run_id_branch_case_id_judge"),
    )
    op.create_table(
        "artifacts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_artifacts"),
        _fk_run("artifacts"),
        sa.CheckConstraint(ARTIFACT_KINDS, name="ck_artifacts_kind"),
        sa.UniqueConstraint("run_id", "path", name="uq_artifacts_run_id_path"),
    )


def downgrade() -> None:
    for table in ("artifacts", "case_results", "latest_metrics", "metrics", "runs", "setups", "specs"):
        op.drop_table(table)
