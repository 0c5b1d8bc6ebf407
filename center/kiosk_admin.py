"""Disable, enable and re-key a kiosk (CLI ``kiosk center kiosk ...`` and the console).

The state is the kiosk's row only: the API checks the token against that row
on every call (``Center.authenticate``, no cache), so a change acts at once in
every center process and on every host sharing the database.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from center import schema as t
from center.admin import AdminError
from center.db import Database
from center.orders import audit
from center.security import hash_token, new_device_token

ACTIONS = ("disable", "enable", "rotate-token")


def _kiosk_id(conn: Connection, name: str) -> int:
    row = conn.execute(select(t.kiosks.c.id).where(t.kiosks.c.name == name.strip())).first()
    if row is None:
        raise AdminError(f"no kiosk named {name.strip()!r}")
    return int(row.id)


def set_disabled(db: Database, name: str, disabled: bool, actor: str = "cli") -> None:
    """A disabled kiosk's token is refused from the next request on (401)."""
    with db.write() as conn:
        kiosk_id = _kiosk_id(conn, name)
        conn.execute(update(t.kiosks).where(t.kiosks.c.id == kiosk_id).values(disabled=disabled))
        audit(conn, actor, "kiosk_disabled" if disabled else "kiosk_enabled", None,
              f"kiosk {name.strip()}")


def rotate_token(db: Database, name: str, actor: str = "cli") -> str:
    """A new device token (returned once); the old one is refused from now on.

    A disabled kiosk stays disabled: rotating is not enabling.
    """
    with db.write() as conn:
        kiosk_id = _kiosk_id(conn, name)
        token = new_device_token(kiosk_id)
        conn.execute(
            update(t.kiosks).where(t.kiosks.c.id == kiosk_id).values(token_hash=hash_token(token))
        )
        audit(conn, actor, "kiosk_token_rotated", None, f"kiosk {name.strip()}")
    return token


def apply(db: Database, action: str, name: str, actor: str = "cli") -> str | None:
    """Run one of ACTIONS; the new token for ``rotate-token``."""
    if action == "disable":
        set_disabled(db, name, True, actor)
    elif action == "enable":
        set_disabled(db, name, False, actor)
    elif action == "rotate-token":
        return rotate_token(db, name, actor)
    else:
        raise AdminError(f"unknown kiosk action {action!r}")
    return None
