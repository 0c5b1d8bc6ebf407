"""jobs: check_jobs, the compliance-check queue (center/jobs.py)

Versions still waiting for their check (queued, or running when the old
in-process checker stopped) get a queued job, so nothing is lost on upgrade.

Revision ID: 0006_jobs
Revises: 0005
Create Date: 2026-12-02 14:00:00
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "0006_jobs"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "check_jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["version_id"], ["photo_versions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id"),
    )
    op.create_index("ix_check_jobs_state_id", "check_jobs", ["state", "id"], unique=False)
    versions = sa.table(
        "photo_versions", sa.column("id", sa.Integer), sa.column("check_state", sa.String)
    )
    op.get_bind().execute(
        sa.text(
            "INSERT INTO check_jobs (version_id, state, attempts, created_at) "
            "SELECT id, 'queued', 0, :now FROM photo_versions "
            "WHERE check_state IN ('queued', 'running') ORDER BY id"
        ),
        {"now": time.time()},
    )
    op.get_bind().execute(
        sa.update(versions).where(versions.c.check_state == "running").values(check_state="queued")
    )


def downgrade() -> None:
    op.drop_index("ix_check_jobs_state_id", table_name="check_jobs")
    op.drop_table("check_jobs")
