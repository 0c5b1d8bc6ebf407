"""Migration 0007_roles: console users from before roles become administrators.

Before roles every console user could import rosters, manage kiosks and refund;
after the upgrade they still can (continuity), while a user created afterwards
is a reviewer unless made an administrator.
"""

from __future__ import annotations

import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import insert, select

from center import schema as t
from center.admin import add_reviewer
from center.db import MIGRATIONS, Database, sqlite_url


def _upgrade(db: Database, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def test_existing_users_become_administrators_new_ones_are_reviewers(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path / "c.db"))
    _upgrade(db, "0005")  # the schema before roles
    with db.write() as conn:
        conn.execute(
            insert(t.reviewers).values(
                name="old-hand", password_hash="x", created_at=time.time(), is_admin=False
            )
        )
    db.migrate()
    add_reviewer(db, "newcomer", "a long password")
    add_reviewer(db, "old-hand", "a new password")  # a password reset keeps the role
    with db.read() as conn:
        roles = dict(conn.execute(select(t.reviewers.c.name, t.reviewers.c.is_admin)).all())
    assert roles == {"old-hand": True, "newcomer": False}
