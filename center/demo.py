"""Demo data for the booth's embedded center and for tests: one batch, one region,
the roster in config/demo/roster.csv."""

from __future__ import annotations

import tomllib

from sqlalchemy import select

from center import schema as t
from center.admin import add_kiosk, import_roster, put_context
from center.db import Database
from kiosk.paths import CONFIG_DIR

DEMO_DIR = CONFIG_DIR / "demo"


def seed(db: Database, kiosk_name: str | None = None) -> str | None:
    """Load the demo batch, region and roster once (later calls keep existing data).

    With ``kiosk_name``, also (re)issue that kiosk's device token and return it:
    tokens are stored hashed, so a caller that needs one must take a fresh one.
    """
    contexts = tomllib.loads((DEMO_DIR / "contexts.toml").read_text(encoding="utf-8"))
    with db.read() as conn:
        have_students = conn.execute(select(t.students.c.id).limit(1)).first() is not None
    for batch in contexts.get("batch", []):
        put_context(
            db,
            "batch",
            batch["id"],
            batch["name"],
            batch["valid_from"],
            batch["valid_to"],
            batch["feature_code"],
        )
    for region in contexts.get("region", []):
        put_context(
            db, "region", region["id"], region["name"], region["valid_from"], region["valid_to"]
        )
    if not have_students:
        import_roster(db, (DEMO_DIR / "roster.csv").read_bytes(), actor="demo")
    return add_kiosk(db, kiosk_name, actor="demo") if kiosk_name else None
