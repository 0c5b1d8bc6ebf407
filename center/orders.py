"""Photo orders: states, what a student may do in each, and order numbers.

States and labels are those of the collection center's student app
(shared/DOMAIN.md §3); the kiosk shows the label as is.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from center import schema as t

AWAITING = "awaiting_photo"
PENDING = "pending_review"
REJECTED = "rejected"
PROCESSING = "processing"
COMPLETED = "completed"

LABELS = {
    AWAITING: "待上传",
    PENDING: "待审核",
    REJECTED: "未通过",
    PROCESSING: "待处理",
    COMPLETED: "订单完成",
}
UPLOADABLE = {AWAITING, REJECTED}

REPRINT_TO_SHIP = "to_ship"
REPRINT_SHIPPED = "shipped"
REPRINT_REFUNDED = "refunded"
REPRINT_LABELS = {REPRINT_TO_SHIP: "待发货", REPRINT_SHIPPED: "已发货", REPRINT_REFUNDED: "已退款"}


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


def audit(
    conn: Connection, actor: str, action: str, order_no: str | None, detail: str = ""
) -> None:
    """One audit line. ``detail`` holds no personal data (no codes, names, digits)."""
    conn.execute(
        insert(t.audit_log).values(
            at=time.time(), actor=actor, action=action, order_no=order_no, detail=detail
        )
    )
