"""Retention: purge photos and personal data a set number of days after a batch
is exported and complete (``[center_server.retention] purge_after_days``).

A batch is due when
- it was exported (console: 导出, ``batches.exported_at``) after its last upload,
  so the export holds every final photo;
- none of its orders still waits for anything (no 待审核, 未通过 or 待处理);
- ``purge_after_days`` days have passed since the later of that export and
  the batch's last order change (its completion).

Purging a batch deletes the photo of every version of its orders from the
photo store (unless the same bytes belong to a version outside the purge),
marks those versions ``purged_at``, and removes the personal data: student
name, ID digits and collection code (replaced by ``purged-<id>``), e-mail
names and addresses, postal addresses of reprints. Order numbers, states,
schools and majors stay for the statistics. Each purged batch leaves an
audit line. ``dry_run`` reports the same plan and changes nothing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select, update

from center import orders
from center import schema as t
from center.storage import PhotoStore
from center.words import said_zh

log = logging.getLogger("center.retention")
OPEN_STATES = (orders.PENDING, orders.REJECTED, orders.PROCESSING)
PURGED_NAME = said_zh("purged_name")  # the name a purged student keeps


@dataclass
class BatchPlan:
    batch_id: str
    exported_at: float
    ready_at: float  # later of the export and the last order change
    due_at: float  # ready_at + purge_after_days
    students: int = 0
    orders: int = 0
    versions: int = 0
    photos: list[str] = field(default_factory=list)  # hashes to delete from the store
    emails: int = 0
    reprint_addresses: int = 0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["photos"] = len(self.photos)
        return out


@dataclass
class Outcome:
    dry_run: bool
    purged: list[BatchPlan] = field(default_factory=list)
    waiting: list[dict[str, Any]] = field(default_factory=list)  # batches not due, and why
    photos_deleted: int = 0
    photos_left: list[str] = field(default_factory=list)  # store refused; batch retried


def _batch_plan(conn: Any, batch: Any, days: float, now: float) -> BatchPlan | str:
    """The plan for one batch, or why it is not due."""
    if batch.exported_at is None:
        return "not exported"
    order_ids = select(t.orders.c.id).join(
        t.students, t.students.c.id == t.orders.c.student_id
    ).where(t.students.c.batch_id == batch.id)
    open_n = conn.execute(
        select(func.count()).where(t.orders.c.id.in_(order_ids), t.orders.c.state.in_(OPEN_STATES))
    ).scalar()
    if open_n:
        return f"{open_n} orders not complete"
    last_upload, last_change = conn.execute(
        select(func.max(t.photo_versions.c.created_at), func.max(t.orders.c.updated_at))
        .select_from(t.orders)
        .join(t.photo_versions, t.photo_versions.c.order_id == t.orders.c.id, isouter=True)
        .where(t.orders.c.id.in_(order_ids))
    ).one()
    if last_upload is not None and last_upload > batch.exported_at:
        return "photos uploaded after the last export"
    ready = max(batch.exported_at, last_change or 0.0)
    due = ready + days * 86400.0
    if now < due:
        return f"due in {(due - now) / 86400.0:.1f} days"
    plan = BatchPlan(batch.id, batch.exported_at, ready, due)
    plan.students = conn.execute(
        select(func.count()).where(t.students.c.batch_id == batch.id)
    ).scalar()
    plan.orders = conn.execute(select(func.count()).where(t.orders.c.id.in_(order_ids))).scalar()
    versions = conn.execute(
        select(t.photo_versions.c.sha256).where(
            t.photo_versions.c.order_id.in_(order_ids), t.photo_versions.c.purged_at.is_(None)
        )
    ).all()
    plan.versions = len(versions)
    shas = {r[0] for r in versions}
    shared = {
        r[0]
        for r in conn.execute(
            select(t.photo_versions.c.sha256).where(
                t.photo_versions.c.sha256.in_(shas),
                t.photo_versions.c.order_id.not_in(order_ids),
                t.photo_versions.c.purged_at.is_(None),
            )
        )
    } if shas else set()
    plan.photos = sorted(shas - shared)
    plan.emails = conn.execute(
        select(func.count()).where(
            t.email_requests.c.order_id.in_(order_ids), t.email_requests.c.email != ""
        )
    ).scalar()
    plan.reprint_addresses = conn.execute(
        select(func.count()).where(
            t.reprints.c.order_id.in_(order_ids), t.reprints.c.address.is_not(None)
        )
    ).scalar()
    return plan


def _apply(conn: Any, plan: BatchPlan, actor: str, now: float) -> None:
    order_ids = select(t.orders.c.id).join(
        t.students, t.students.c.id == t.orders.c.student_id
    ).where(t.students.c.batch_id == plan.batch_id)
    conn.execute(
        update(t.photo_versions)
        .where(t.photo_versions.c.order_id.in_(order_ids), t.photo_versions.c.purged_at.is_(None))
        .values(purged_at=now, check_report=None)
    )
    conn.execute(
        update(t.email_requests)
        .where(t.email_requests.c.order_id.in_(order_ids))
        .values(name="", email="", last_error=None)
    )
    conn.execute(
        update(t.reprints).where(t.reprints.c.order_id.in_(order_ids)).values(address=None)
    )
    ids = [r[0] for r in conn.execute(select(t.students.c.id).where(t.students.c.batch_id == plan.batch_id))]
    for sid in ids:
        conn.execute(
            update(t.students)
            .where(t.students.c.id == sid)
            .values(name=PURGED_NAME, id_last4="0000", collection_code=f"purged-{sid}")
        )
    if ids:
        conn.execute(
            t.identify_limits.delete().where(
                t.identify_limits.c.scope.in_([f"student:{sid}" for sid in ids])
            )
        )
    conn.execute(
        update(t.batches).where(t.batches.c.id == plan.batch_id).values(purged_at=now)
    )
    orders.audit(
        conn,
        actor,
        "purge",
        None,
        f"{plan.batch_id}: {plan.students} students, {plan.orders} orders, "
        f"{plan.versions} versions, {len(plan.photos)} photos (exported "
        f"{time.strftime('%Y-%m-%d', time.gmtime(plan.exported_at))})",
    )


def purge(
    db: Any,
    store: PhotoStore,
    days: float,
    actor: str = "retention",
    dry_run: bool = False,
    now: float | None = None,
) -> Outcome:
    """Purge every due batch (or, with ``dry_run``, only say which and what).

    Per batch: plan (a read), delete its photos from the store, then change
    the rows in one transaction that checks the plan again. If the store
    refuses a deletion the batch's rows stay as they are and the batch stays
    due, so the next run tries again: no photo outlives its purge unnoticed.
    The write lock is never held while the store is called.
    """
    now = time.time() if now is None else now
    out = Outcome(dry_run=dry_run)
    with db.read() as conn:
        batches = conn.execute(
            select(t.batches.c.id, t.batches.c.exported_at)
            .where(t.batches.c.purged_at.is_(None))
            .order_by(t.batches.c.id)
        ).all()
        plans = [(b, _batch_plan(conn, b, days, now)) for b in batches]
    for batch, plan in plans:
        if isinstance(plan, str):
            out.waiting.append({"batch_id": batch.id, "reason": plan})
            continue
        if dry_run:
            out.purged.append(plan)
            continue
        failed = []
        for sha in plan.photos:
            try:
                store.delete(sha)
                out.photos_deleted += 1
            except Exception as exc:  # noqa: BLE001 - the batch waits for the next run
                log.warning("purge: photo %s not deleted: %s", sha[:12], type(exc).__name__)
                failed.append(sha)
        if failed:
            out.photos_left += failed
            out.waiting.append({"batch_id": batch.id, "reason": "photo store refused deletions"})
            continue
        with db.write() as conn:
            again = _batch_plan(conn, batch, days, now)
            if isinstance(again, str):  # a late upload meanwhile
                out.waiting.append({"batch_id": batch.id, "reason": f"changed: {again}"})
                continue
            _apply(conn, again, actor, now)
        out.purged.append(plan)
    return out


def mark_exported(conn: Any, batch_id: str, now: float | None = None) -> None:
    """The console exported the batch's approved photos (starts the retention clock)."""
    conn.execute(
        update(t.batches)
        .where(t.batches.c.id == batch_id)
        .values(exported_at=time.time() if now is None else now)
    )
