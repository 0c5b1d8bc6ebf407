"""Kiosk registration for in-process callers (the booth's embedded center)."""

from __future__ import annotations

from center.admin import add_kiosk
from center.db import Database


def register_kiosk(db: Database, name: str) -> str:
    """Issue a device token for kiosk ``name`` (a new one if it exists); returned once."""
    return add_kiosk(db, name, actor="embedded")
