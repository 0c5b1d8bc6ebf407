"""Administration shared by the CLI, the console and the demo: kiosks, reviewers,
batches and regions, roster import."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from sqlalchemy import insert, select, update

from center import schema as t
from center.db import Database
from center.orders import audit
from center.security import hash_secret, hash_token, new_device_token
from center.words import said, said_zh
from kiosk.errors import KioskError

ROSTER_COLUMNS = ["collection_code", "name", "id_last4", "school", "level", "major", "batch"]
CODE_RE = re.compile(r"^[A-Za-z0-9]{6,64}$")
LAST4_RE = re.compile(r"^[0-9]{3}[0-9X]$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class AdminError(KioskError):
    def __init__(self, detail: str) -> None:
        super().__init__("center_admin", *said("admin_failed"), detail)


def add_kiosk(db: Database, name: str, actor: str = "cli") -> str:
    """Register a kiosk (or give an existing one a new token); returns the token once."""
    name = name.strip()
    if not name or len(name) > 100:
        raise AdminError("kiosk name must be 1..100 characters")
    with db.write() as conn:
        row = conn.execute(select(t.kiosks.c.id).where(t.kiosks.c.name == name)).first()
        if row is None:
            kiosk_id = conn.execute(
                insert(t.kiosks)
                .values(name=name, token_hash="!", disabled=False, created_at=time.time())
                .returning(t.kiosks.c.id)
            ).scalar_one()
        else:
            kiosk_id = row.id
        token = new_device_token(kiosk_id)
        conn.execute(
            update(t.kiosks)
            .where(t.kiosks.c.id == kiosk_id)
            .values(token_hash=hash_token(token), disabled=False)
        )
        audit(conn, actor, "kiosk_token", None, f"kiosk {name}")
    return token


def add_reviewer(
    db: Database, name: str, password: str, actor: str = "cli", admin: bool | None = None
) -> None:
    """Create a console user or set a new password.

    ``admin``: True makes an administrator, False a reviewer (center/console/roles.py);
    None keeps an existing user's role (a new user is a reviewer), so setting a
    password never demotes anyone by accident.
    """
    name = name.strip()
    if not name or len(name) > 100:
        raise AdminError("reviewer name must be 1..100 characters")
    if len(password) < 8:
        raise AdminError("the password must have at least 8 characters")
    with db.write() as conn:
        exists = conn.execute(
            select(t.reviewers.c.id, t.reviewers.c.is_admin).where(t.reviewers.c.name == name)
        ).first()
        if admin is None:
            admin = bool(exists and exists.is_admin)
        if exists:
            conn.execute(
                update(t.reviewers)
                .where(t.reviewers.c.id == exists.id)
                .values(password_hash=hash_secret(password), is_admin=admin)
            )
        else:
            conn.execute(
                insert(t.reviewers).values(
                    name=name,
                    password_hash=hash_secret(password),
                    created_at=time.time(),
                    is_admin=admin,
                )
            )
        audit(
            conn,
            actor,
            "reviewer_password",
            None,
            f"reviewer {name}" + (" (admin)" if admin else " (reviewer)"),
        )


def reviewer_id(db: Database, name: str) -> int | None:
    """The id of the reviewer called ``name`` (for scripts that decide as that reviewer)."""
    with db.read() as conn:
        return conn.execute(
            select(t.reviewers.c.id).where(t.reviewers.c.name == name.strip())
        ).scalar()


def put_context(
    db: Database,
    kind: str,
    ident: str,
    name: str,
    valid_from: str,
    valid_to: str,
    feature_code: str = "",
) -> None:
    """Create or update a batch (with its feature code) or a region."""
    if kind not in ("batch", "region"):
        raise AdminError("kind must be batch or region")
    if not DATE_RE.match(valid_from) or not DATE_RE.match(valid_to) or valid_from > valid_to:
        raise AdminError("validity must be YYYY-MM-DD with valid_from <= valid_to")
    if kind == "batch" and not re.match(r"^[A-Za-z0-9]{4}$", feature_code):
        raise AdminError("a batch needs a 4-character feature code (letters and digits)")
    table = t.batches if kind == "batch" else t.regions
    values = {"name": name, "valid_from": valid_from, "valid_to": valid_to}
    if kind == "batch":
        values["feature_code"] = feature_code.upper()
    with db.write() as conn:
        if conn.execute(select(table.c.id).where(table.c.id == ident)).first():
            conn.execute(update(table).where(table.c.id == ident).values(**values))
        else:
            conn.execute(insert(table).values(id=ident, created_at=time.time(), **values))
        audit(conn, "cli", f"{kind}_saved", None, ident)


@dataclass
class ImportResult:
    added: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)


class RosterInvalid(KioskError):
    """Bad rows: nothing was imported; ``errors`` are Chinese sentences with line numbers."""

    def __init__(self, errors: list[str]) -> None:
        shown = errors[:50] + ([said_zh("roster_more_problems", more=len(errors) - 50)] if len(errors) > 50 else [])
        super().__init__(
            "roster_invalid",
            said_zh("roster_refused") + "；".join(shown),
            "The roster has bad rows; nothing was imported.",
            f"{len(errors)} bad rows",
        )
        self.errors = shown


def import_roster(
    db: Database,
    data: bytes | str,
    actor: str = "cli",
    max_bytes: int = 5 * 1024 * 1024,
    max_rows: int = 20000,
) -> ImportResult:
    """Import a roster (CSV in UTF-8 or GB18030/GBK, or .xlsx); any bad line refuses
    the whole file (nothing half-imported).

    Error messages name line and column, never the values (they are personal data).
    """
    from center.roster_files import COLUMN_ZH, read_roster

    raw = data.encode("utf-8") if isinstance(data, str) else data
    parsed = read_roster(raw, max_bytes=max_bytes, max_rows=max_rows)
    with db.read() as conn:
        batches = {r[0] for r in conn.execute(select(t.batches.c.id))}
    rows, errors, seen = [], [], set()
    for line_no, row in parsed.rows:
        row["id_last4"] = row["id_last4"].upper()
        where = said_zh("roster_line", line_no=line_no)
        if not CODE_RE.match(row["collection_code"]):
            errors.append(said_zh("roster_bad_code", where=where))
        elif row["collection_code"] in seen:
            errors.append(said_zh("roster_duplicate_code", where=where))
        seen.add(row["collection_code"])
        if not LAST4_RE.match(row["id_last4"]):
            errors.append(said_zh("roster_bad_last4", where=where))
        for col in ("name", "school", "level", "major"):
            if not row[col]:
                errors.append(said_zh("roster_empty_cell", where=where, column=COLUMN_ZH[col]))
            elif len(row[col]) > 100:
                errors.append(said_zh("roster_cell_too_long", where=where, column=COLUMN_ZH[col]))
        if row["batch"] not in batches:
            errors.append(said_zh("roster_unknown_batch", where=where))
        rows.append(row)
    if errors:
        raise RosterInvalid(errors)
    result = ImportResult()
    with db.write() as conn:
        existing = {
            code: sid
            for code, sid in conn.execute(select(t.students.c.collection_code, t.students.c.id))
        }
        new = []
        for row in rows:
            values = {
                "name": row["name"],
                "id_last4": row["id_last4"],
                "school": row["school"],
                "level": row["level"],
                "major": row["major"],
                "batch_id": row["batch"],
            }
            if row["collection_code"] in existing:
                conn.execute(
                    update(t.students)
                    .where(t.students.c.id == existing[row["collection_code"]])
                    .values(**values)
                )
                result.updated += 1
            else:
                new.append({"collection_code": row["collection_code"], **values})
        if new:
            conn.execute(insert(t.students), new)
        result.added = len(new)
        audit(conn, actor, "roster_import", None, f"{result.added} added, {result.updated} updated")
    return result
