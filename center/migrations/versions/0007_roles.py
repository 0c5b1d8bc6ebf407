"""console roles: every existing console user becomes an administrator

Roles are ``reviewers.is_admin`` (0003): an administrator may import rosters,
manage kiosks, refund reprints and undo anyone's decision; a reviewer only
reviews (center/console/roles.py). Before roles every console user could do
all of that, so existing users are made administrators: nobody loses what
they could do yesterday. New users are reviewers unless made administrators
(``kiosk center add-reviewer NAME --admin``); demote with ``--reviewer``.

No column is added. The downgrade cannot tell who was an administrator before
(the 0003 flag only allowed undoing others' decisions) and leaves the flags.

Revision ID: 0007_roles
Revises: 0005 (the lead re-chains it onto 0006_jobs at the merge)
Create Date: 2026-12-02 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_roles"
down_revision = "0006_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    reviewers = sa.table("reviewers", sa.column("is_admin", sa.Boolean()))
    op.execute(reviewers.update().values(is_admin=True))


def downgrade() -> None:
    pass
