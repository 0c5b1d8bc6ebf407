"""The reprint orders (加洗订单) the console lists: one state at a time, masked names.

Staff who pack and post prints need the order, layout, copies and the address,
not the student's full name or collection code, so the rows carry only the
masked name (the form the kiosk shows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from center import orders
from center import schema as t
from center.console import words
from center.db import Database
from kiosk.redact import mask_name

STATES = (orders.REPRINT_TO_SHIP, orders.REPRINT_SHIPPED, orders.REPRINT_REFUNDED)
ALL = "all"


def layout_name(layout: int) -> str:
    """1 → 版式一: the names the student app uses (DOMAIN.md §3)."""
    return words.phrase(f"layout_{layout}") if 1 <= layout <= 9 else words.phrase("layout", n=layout)


@dataclass(frozen=True)
class ReprintRow:
    reprint_no: str
    order_no: str
    masked_name: str
    layout: str
    copies: int
    delivery: str
    address: str
    state: str
    label: str
    kiosk: str
    created_at: float
    updated_at: float


def counts(db: Database) -> dict[str, int]:
    with db.read() as conn:
        got: dict[str, int] = dict(
            conn.execute(  # type: ignore[arg-type]  # rows of (state, count) pairs
                select(t.reprints.c.state, func.count()).group_by(t.reprints.c.state)
            ).all()
        )
    return {s: int(got.get(s, 0)) for s in STATES}


def listing(db: Database, state: str, limit: int) -> list[ReprintRow]:
    """Rows in ``state`` (or all): 待发货 oldest first (the packing queue), others newest first."""
    query = (
        select(
            t.reprints,
            t.orders.c.order_no,
            t.students.c.name.label("student_name"),
            t.kiosks.c.name.label("kiosk_name"),
        )
        .join(t.orders, t.orders.c.id == t.reprints.c.order_id)
        .join(t.students, t.students.c.id == t.orders.c.student_id)
        .join(t.kiosks, t.kiosks.c.id == t.reprints.c.kiosk_id, isouter=True)
    )
    if state != ALL:
        query = query.where(t.reprints.c.state == state)
    if state == orders.REPRINT_TO_SHIP:
        query = query.order_by(t.reprints.c.created_at, t.reprints.c.id)
    else:
        query = query.order_by(t.reprints.c.updated_at.desc(), t.reprints.c.id.desc())
    with db.read() as conn:
        rows = conn.execute(query.limit(limit)).all()
    return [_row(r) for r in rows]


def _row(r: Any) -> ReprintRow:
    return ReprintRow(
        reprint_no=r.reprint_no,
        order_no=r.order_no,
        masked_name=mask_name(r.student_name),
        layout=layout_name(r.layout),
        copies=r.copies,
        delivery=r.delivery,
        address=(r.address or "") if r.delivery == "mail" else "",
        state=r.state,
        label=orders.REPRINT_LABELS.get(r.state, r.state),
        kiosk=r.kiosk_name or "",
        created_at=r.created_at,
        updated_at=r.updated_at,
    )
