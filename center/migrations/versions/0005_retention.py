"""retention: batches.exported_at / purged_at, photo_versions.purged_at

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batches") as batch_op:
        batch_op.add_column(sa.Column("exported_at", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("purged_at", sa.Float(), nullable=True))
    with op.batch_alter_table("photo_versions") as batch_op:
        batch_op.add_column(sa.Column("purged_at", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("photo_versions") as batch_op:
        batch_op.drop_column("purged_at")
    with op.batch_alter_table("batches") as batch_op:
        batch_op.drop_column("purged_at")
        batch_op.drop_column("exported_at")
