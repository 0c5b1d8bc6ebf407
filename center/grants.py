"""Grants: what a kiosk may do for the one student it identified.

A collection code alone unlocks nothing. ``POST /identify`` (code + last 4, and
the feature code in a batch) issues two bearer tokens, both bound to the
calling kiosk and to the student's order:

- a **session grant** (``kind = session``): status, upload, withdraw, download
  link, e-mail and reprint. It lives ``grants.session_minutes`` at most and
  the kiosk ends it (``POST /api/v1/grants/end``) when the student's session
  ends or the screen wipes itself after idling;
- an **upload ticket** (``kind = upload``): good only for uploading that
  order's photo, for ``grants.upload_ticket_hours``. The booth's outbox keeps
  it with the queued photo, so a photo taken while the center was down is
  still accepted hours later, without the student, and a rebuilt outbox
  (which re-reads the sidecars) keeps it too.

Tokens travel in the ``X-Kiosk-Grant`` header; the database keeps only their
SHA-256, so every center process sees an ended grant at once. Expired rows are
purged (``purge``), which bounds the table by the identify rate limit.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from center import schema as t
from center.db import Precompiled
from center.errors import ApiError
from center.security import token_digest
from center.words import said

HEADER = "X-Kiosk-Grant"
SESSION = "session"
UPLOAD = "upload"
# An ended or expired row is kept this long after expiry before purge removes it
# (so a late call still gets "grant expired", not a different answer).
KEEP_AFTER_EXPIRY = 3600.0


# every order call: the grant a token names, with its student's collection code
_BY_DIGEST = Precompiled(
    select(
        t.grants.c.kind,
        t.grants.c.kiosk_id,
        t.grants.c.student_id,
        t.grants.c.order_id,
        t.grants.c.expires_at,
        t.grants.c.ended_at,
        t.students.c.collection_code,
    )
    .join(t.students, t.students.c.id == t.grants.c.student_id)
    .where(t.grants.c.token_hash == bindparam("digest"))
)


@dataclass(frozen=True)
class Grant:
    kind: str
    kiosk_id: int
    student_id: int
    order_id: int
    collection_code: str


def grant_required() -> ApiError:
    """The single answer for a missing, unknown, ended, expired or foreign grant.

    It does not say which, and it is given before any collection code is looked
    up, so a caller without a grant learns nothing about the code it sent.
    """
    return ApiError(
        403,
        "grant_required",
        *said("grant_required"),
    )


def issue(
    conn: Connection, kind: str, kiosk_id: int, student_id: int, order_id: int, ttl: float
) -> tuple[str, float]:
    """A new token of ``kind`` and its expiry (epoch seconds)."""
    token = f"g{'s' if kind == SESSION else 'u'}.{secrets.token_urlsafe(32)}"
    now = time.time()
    conn.execute(
        insert(t.grants).values(
            token_hash=token_digest(token),
            kind=kind,
            kiosk_id=kiosk_id,
            student_id=student_id,
            order_id=order_id,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return token, now + ttl


def resolve(
    conn: Connection, token: str | None, kiosk_id: int, kinds: tuple[str, ...] = (SESSION,)
) -> Grant | None:
    """The live grant ``token`` names for this kiosk, or None."""
    if not token or len(token) > 100:
        return None
    row = _BY_DIGEST.first(conn, digest=token_digest(token))
    if (
        row is None
        or row.kiosk_id != kiosk_id
        or row.kind not in kinds
        or row.ended_at is not None
        or row.expires_at <= time.time()
    ):
        return None
    return Grant(row.kind, row.kiosk_id, row.student_id, row.order_id, row.collection_code)


def end(conn: Connection, token: str | None, kiosk_id: int) -> bool:
    """End a session grant of this kiosk (the student left). Upload tickets stay valid."""
    if not token or len(token) > 100:
        return False
    return bool(
        conn.execute(
            update(t.grants)
            .where(
                t.grants.c.token_hash == token_digest(token),
                t.grants.c.kiosk_id == kiosk_id,
                t.grants.c.kind == SESSION,
                t.grants.c.ended_at.is_(None),
            )
            .values(ended_at=time.time())
        ).rowcount
    )


def purge(conn: Connection, now: float | None = None) -> int:
    now = time.time() if now is None else now
    return int(
        conn.execute(delete(t.grants).where(t.grants.c.expires_at < now - KEEP_AFTER_EXPIRY)).rowcount
        or 0
    )


def header_token(headers: Any) -> str | None:
    value = headers.get(HEADER)
    return value.strip() if value else None
