"""Photo orders: states, what a student may do in each, and order numbers;
reprint orders' states and the console's transitions between them.

States and labels are those of the collection center's student app
(shared/DOMAIN.md §3); the kiosk shows the label as is.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from center import schema as t
from center.db import Precompiled
from center.words import said, said_zh
from kiosk.errors import KioskError

AWAITING = "awaiting_photo"
PENDING = "pending_review"
REJECTED = "rejected"
PROCESSING = "processing"
COMPLETED = "completed"

# The Chinese label of each state (DOMAIN.md §3), as students and reviewers read it.
LABELS = {s: said_zh(f"order_state_{s}") for s in (AWAITING, PENDING, REJECTED, PROCESSING, COMPLETED)}
UPLOADABLE = {AWAITING, REJECTED}

REPRINT_TO_SHIP = "to_ship"
REPRINT_SHIPPED = "shipped"
REPRINT_REFUNDED = "refunded"
REPRINT_LABELS = {
    s: said_zh(f"reprint_state_{s}") for s in (REPRINT_TO_SHIP, REPRINT_SHIPPED, REPRINT_REFUNDED)
}


def make_number(now: float | None = None) -> str:
    """yyMMddHHmmss + 6 random digits (local time of the center), e.g. 221212192359897028."""
    stamp = time.strftime("%y%m%d%H%M%S", time.localtime(now if now is not None else time.time()))
    return stamp + f"{secrets.randbelow(10**6):06d}"


def order_view(row: Any, **changes: Any) -> dict[str, Any]:
    """The ``order`` object of the API from an orders row (with ``changes`` applied)."""
    m = {**(row._mapping if hasattr(row, "_mapping") else row), **changes}
    state = m["state"]
    return {
        "order_no": m["order_no"],
        "state": state,
        "label": LABELS[state],
        "reason_code": m["reason_code"] if state == REJECTED else None,
        "reason_text": m["reason_text"] if state == REJECTED else None,
        "version": m["version"],
        "can_withdraw": state == PENDING,
        "can_retake": state in UPLOADABLE,
        "can_reprint": state == COMPLETED,
    }


def ensure_order(conn: Connection, student_id: int) -> Any:
    """The student's order, created in state 待上传 on first contact.

    One INSERT ... ON CONFLICT DO NOTHING RETURNING: no savepoint round trips;
    a concurrent creator wins on the unique student_id, an order-number clash
    (same second, same 6 random digits) simply tries another number.
    """
    row = conn.execute(select(t.orders).where(t.orders.c.student_id == student_id)).first()
    if row is not None:
        return row
    ins = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    now = time.time()
    for _ in range(5):
        row = conn.execute(
            ins(t.orders)
            .values(
                order_no=make_number(now),
                student_id=student_id,
                state=AWAITING,
                version=0,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing()
            .returning(*t.orders.c)
        ).first()
        if row is not None:
            return row
        row = conn.execute(select(t.orders).where(t.orders.c.student_id == student_id)).first()
        if row is not None:
            return row
    raise RuntimeError("could not allocate an order number")


_AUDIT = Precompiled(
    insert(t.audit_log)
    .values(
        at=bindparam("at"),
        actor=bindparam("actor"),
        action=bindparam("action"),
        order_no=bindparam("order_no"),
        detail=bindparam("detail"),
    )
    .inline()  # no RETURNING of the id nobody reads
)


def audit(
    conn: Connection, actor: str, action: str, order_no: str | None, detail: str = ""
) -> None:
    """One audit line. ``detail`` holds no personal data (no codes, names, digits)."""
    _AUDIT.run(
        conn, at=time.time(), actor=actor, action=action, order_no=order_no, detail=detail
    )


class ReprintRefused(KioskError):
    """A reprint state change that its current state or delivery does not allow."""

    def __init__(self, zh: str, en: str, detail: str) -> None:
        super().__init__("reprint_refused", zh, en, detail)


def _reprint_for_update(conn: Connection, reprint_no: str) -> Any:
    row = conn.execute(
        select(t.reprints, t.orders.c.order_no)
        .join(t.orders, t.orders.c.id == t.reprints.c.order_id)
        .where(t.reprints.c.reprint_no == reprint_no)
        .with_for_update(of=t.reprints)
    ).first()
    if row is None:
        raise ReprintRefused(*said("no_such_reprint"), reprint_no)
    return row


def _move_reprint(conn: Connection, row: Any, target: str, actor: str, action: str) -> None:
    """待发货 → ``target``, guarded by the state so a concurrent change cannot be overwritten."""
    moved = conn.execute(
        update(t.reprints)
        .where(t.reprints.c.id == row.id, t.reprints.c.state == REPRINT_TO_SHIP)
        .values(state=target, updated_at=time.time())
    ).rowcount
    if not moved:
        raise ReprintRefused(
            *said("reprint_changed"),
            row.reprint_no,
        )
    audit(conn, actor, action, row.order_no, f"{row.reprint_no} {row.delivery}")


def ship_reprint(conn: Connection, reprint_no: str, actor: str) -> str:
    """Center staff mailed the prints: 待发货 → 已发货 (mail only); returns the order number.

    Booth reprints are marked 已发货 by the kiosk when it has printed them
    (POST /api/v1/reprints/printed); staff marking one would claim a print
    nobody made, so the console refuses it.
    """
    row = _reprint_for_update(conn, reprint_no)
    if row.delivery != "mail":
        raise ReprintRefused(
            *said("reprint_booth_ships"),
            reprint_no,
        )
    if row.state != REPRINT_TO_SHIP:
        raise ReprintRefused(
            *said("reprint_cannot_ship", label=REPRINT_LABELS[row.state], state=row.state),
            reprint_no,
        )
    _move_reprint(conn, row, REPRINT_SHIPPED, actor, "reprint_shipped")
    return str(row.order_no)


def refund_reprint(conn: Connection, reprint_no: str, actor: str) -> str:
    """待发货 → 已退款; returns the order number.

    Not after 已发货: the prints have left (or were handed over at the booth),
    so a refund then is a complaint for the school office, not a state change.
    """
    row = _reprint_for_update(conn, reprint_no)
    if row.state != REPRINT_TO_SHIP:
        raise ReprintRefused(
            *said("reprint_cannot_refund", label=REPRINT_LABELS[row.state], state=row.state),
            reprint_no,
        )
    _move_reprint(conn, row, REPRINT_REFUNDED, actor, "reprint_refunded")
    return str(row.order_no)
