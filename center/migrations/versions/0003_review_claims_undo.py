"""review console: claims, undo, export mark, administrators

Claims hand each pending photo to one reviewer for a while (two reviewers never
get the same photo); a review can be undone (undone_at/undone_by) until the
order is exported (orders.exported_at); administrators may undo any decision.

Revision ID: 0003_review_claims
Revises: 0001
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_review_claims"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("photo_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim_reviewer_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("claim_until", sa.Float(), nullable=True))
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason_codes", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("undone_at", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("undone_by", sa.String(length=120), nullable=True))
        batch_op.create_index("ix_reviews_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_reviews_version_id", ["version_id"], unique=False)
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("exported_at", sa.Float(), nullable=True))
    with op.batch_alter_table("reviewers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_admin", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("reviewers", schema=None) as batch_op:
        batch_op.drop_column("is_admin")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("exported_at")
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_reviews_version_id")
        batch_op.drop_index("ix_reviews_created_at")
        batch_op.drop_column("undone_by")
        batch_op.drop_column("undone_at")
        batch_op.drop_column("reason_codes")
    with op.batch_alter_table("photo_versions", schema=None) as batch_op:
        batch_op.drop_column("claim_until")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("claim_reviewer_id")
