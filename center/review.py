"""Review decisions and order completion (the console calls these)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import insert, select, update

from center import orders
from center import schema as t
from center.db import Database
from kiosk.errors import KioskError


class ReviewConflict(KioskError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            "review_conflict",
            "该照片已被撤回或处理，请看下一张。",
            "This photo was withdrawn or already decided; take the next one.",
            detail,
        )


def next_pending(db: Database, after_version_id: int = 0) -> Any:
    """The oldest version waiting for review (the order's current one)."""
    with db.read() as conn:
        return conn.execute(
            select(
                t.photo_versions,
                t.orders.c.order_no,
                t.students.c.name,
                t.students.c.batch_id,
                t.students.c.school,
            )
            .join(t.orders, t.orders.c.id == t.photo_versions.c.order_id)
            .join(t.students, t.students.c.id == t.orders.c.student_id)
            .where(
                t.orders.c.state == orders.PENDING,
                t.photo_versions.c.version_no == t.orders.c.version,
                t.photo_versions.c.id > after_version_id,
            )
            .order_by(t.photo_versions.c.id)
            .limit(1)
        ).first()


def pending_count(db: Database) -> int:
    from sqlalchemy import func

    with db.read() as conn:
        return conn.execute(
            select(func.count()).select_from(t.orders).where(t.orders.c.state == orders.PENDING)
        ).scalar_one()


def decide(
    db: Database,
    version_id: int,
    reviewer: tuple[int, str],
    decision: str,
    reason_code: str | None = None,
    reason_text: str | None = None,
) -> str:
    """Approve (→ 待处理) or reject (→ 未通过 with reason); returns the order number.

    Refused when the student withdrew the photo or sent a newer one meanwhile.
    """
    if decision not in ("approve", "reject"):
        raise ValueError(decision)
    if decision == "reject" and not (reason_code or (reason_text or "").strip()):
        raise KioskError(
            "reason_required", "请选择或填写未通过原因。", "Pick or write a rejection reason."
        )
    now = time.time()
    with db.write() as conn:
        row = conn.execute(
            select(t.orders, t.photo_versions.c.version_no.label("v"))
            .join(t.photo_versions, t.photo_versions.c.order_id == t.orders.c.id)
            .where(t.photo_versions.c.id == version_id)
            .with_for_update()
        ).first()
        if row is None or row.state != orders.PENDING or row.version != row.v:
            raise ReviewConflict(f"version {version_id} is not pending")
        conn.execute(
            insert(t.reviews).values(
                version_id=version_id,
                reviewer_id=reviewer[0],
                decision=decision,
                reason_code=reason_code,
                reason_text=reason_text,
                created_at=now,
            )
        )
        values: dict[str, Any] = {"updated_at": now}
        if decision == "approve":
            values.update(state=orders.PROCESSING, reason_code=None, reason_text=None)
        else:
            values.update(state=orders.REJECTED, reason_code=reason_code, reason_text=reason_text)
        conn.execute(update(t.orders).where(t.orders.c.id == row.id).values(**values))
        orders.audit(
            conn,
            f"reviewer:{reviewer[1]}",
            decision,
            row.order_no,
            f"version {row.v}" + (f" reason {reason_code}" if reason_code else ""),
        )
    return row.order_no


def complete(db: Database, order_nos: list[str], actor: str) -> int:
    """待处理 → 订单完成 for the given orders; returns how many changed."""
    now = time.time()
    done = 0
    with db.write() as conn:
        for order_no in order_nos:
            res = conn.execute(
                update(t.orders)
                .where(t.orders.c.order_no == order_no, t.orders.c.state == orders.PROCESSING)
                .values(state=orders.COMPLETED, updated_at=now)
            )
            if res.rowcount:
                done += 1
                orders.audit(conn, actor, "complete", order_no)
    return done
