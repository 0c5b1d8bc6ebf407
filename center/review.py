"""Review decisions, the reviewers' queue and order completion (the console calls these).

Why claims: with several reviewers, the oldest pending photo used to be shown to
all of them; the second decision was refused and both moved on to the same next
photo again. Now each photo shown is *claimed* by one reviewer until
``claim_until`` (renewed while the page is open), so reviewers never collide,
and a reviewer who walks away loses the claim after ``claim_seconds``.

Why a guard time and the shown version: a decision key pressed twice used to
decide two photos (the second before it was seen). A decision names the
version it was made on, is refused if that is no longer the order's current,
pending version, and is ignored when it comes within ``guard`` seconds of the
photo being handed out. Every decision can be undone for ``undo_minutes`` by
its reviewer, and by an administrator until the photo is exported.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, insert, or_, select, update

from center import orders
from center import schema as t
from center.db import Database
from center.words import said, said_zh
from kiosk.errors import KioskError


class ReviewConflict(KioskError):
    def __init__(self, detail: str, zh: str = "") -> None:
        super().__init__(
            "review_conflict",
            zh or said_zh("review_conflict"),
            "This photo was withdrawn, replaced or already decided; take the next one.",
            detail,
        )


class TooFast(KioskError):
    """A decision within the guard time after the photo appeared (a repeated key)."""

    def __init__(self) -> None:
        super().__init__(
            "too_fast",
            *said("too_fast"),
            "decision within the guard time",
        )


class UndoRefused(KioskError):
    def __init__(self, zh: str, detail: str) -> None:
        super().__init__("undo_refused", zh, "This decision can no longer be undone.", detail)


@dataclass(frozen=True)
class Rules:
    """The queue's timing, from ``[center_server.review]``."""

    claim_seconds: float = 120.0
    guard_seconds: float = 0.6
    undo_seconds: float = 600.0

    @classmethod
    def from_conf(cls, conf: dict[str, Any]) -> Rules:
        return cls(
            claim_seconds=float(conf.get("claim_seconds", 120)),
            guard_seconds=float(conf.get("guard_ms", 600)) / 1000.0,
            undo_seconds=60.0 * float(conf.get("undo_minutes", 10)),
        )


def _current_pending() -> Any:
    """Versions that are their order's current one while the order is 待审核."""
    return and_(
        t.orders.c.state == orders.PENDING,
        t.photo_versions.c.version_no == t.orders.c.version,
    )


def _failed_first() -> Any:
    """Queue order: versions the background check failed first, then oldest first."""
    return case((t.photo_versions.c.check_ok == False, 0), else_=1)  # noqa: E712


def version_row(db: Database, version_id: int) -> Any:
    """A version with its order and student, for the review page."""
    with db.read() as conn:
        return conn.execute(
            select(
                t.photo_versions,
                t.orders.c.order_no,
                t.orders.c.state.label("order_state"),
                t.orders.c.version.label("order_version"),
                t.students.c.name,
                t.students.c.collection_code,
                t.students.c.batch_id,
                t.students.c.school,
            )
            .join(t.orders, t.orders.c.id == t.photo_versions.c.order_id)
            .join(t.students, t.students.c.id == t.orders.c.student_id)
            .where(t.photo_versions.c.id == version_id)
        ).first()


def claim_next(
    db: Database,
    reviewer_id: int,
    rules: Rules,
    skip: int = 0,
    want: int = 0,
    now: float | None = None,
) -> Any:
    """The photo this reviewer should see now, claimed for them; None if the queue is empty.

    The reviewer's own live claim comes first (a reload shows the same photo);
    ``skip`` hands that one back and takes another; ``want`` asks for a given
    version (after an undo) if nobody else holds it. Otherwise the first
    unclaimed (or expired) version in queue order. The claim is a conditional
    UPDATE, so of two reviewers racing for a version exactly one wins and the
    other takes the next.
    """
    now = time.time() if now is None else now
    pv = t.photo_versions
    free = or_(
        pv.c.claim_until.is_(None), pv.c.claim_until < now, pv.c.claim_reviewer_id == reviewer_id
    )
    with db.write() as conn:
        if skip:
            conn.execute(
                update(pv)
                .where(pv.c.id == skip, pv.c.claim_reviewer_id == reviewer_id)
                .values(claim_reviewer_id=None, claim_until=None, claimed_at=None)
            )
        base = (
            select(pv.c.id).join(t.orders, t.orders.c.id == pv.c.order_id).where(_current_pending())
        )
        candidates: list[int] = []
        if want:
            candidates += list(conn.execute(base.where(pv.c.id == want, free)).scalars())
        candidates += list(
            conn.execute(
                base.where(
                    pv.c.claim_reviewer_id == reviewer_id, pv.c.claim_until >= now, pv.c.id != skip
                ).order_by(pv.c.id)
            ).scalars()
        )
        candidates += list(
            conn.execute(
                base.where(free, pv.c.id != skip).order_by(_failed_first(), pv.c.id).limit(8)
            ).scalars()
        )
        if skip and not candidates:
            candidates = list(conn.execute(base.where(pv.c.id == skip, free)).scalars())
        for vid in candidates:
            mine = conn.execute(
                select(pv.c.claimed_at).where(
                    pv.c.id == vid, pv.c.claim_reviewer_id == reviewer_id, pv.c.claim_until >= now
                )
            ).first()
            if mine is not None:  # already mine: renew, keep the time it was first shown
                conn.execute(
                    update(pv).where(pv.c.id == vid).values(claim_until=now + rules.claim_seconds)
                )
                break
            won = conn.execute(
                update(pv)
                .where(pv.c.id == vid, free)
                .values(
                    claim_reviewer_id=reviewer_id,
                    claimed_at=now,
                    claim_until=now + rules.claim_seconds,
                )
            ).rowcount
            if won:
                break
        else:
            return None
        conn.execute(  # one photo at a time: the others go back to the queue
            update(pv)
            .where(pv.c.claim_reviewer_id == reviewer_id, pv.c.id != vid)
            .values(claim_reviewer_id=None, claim_until=None, claimed_at=None)
        )
    return version_row(db, vid)


def renew_claim(db: Database, version_id: int, reviewer_id: int, rules: Rules) -> bool:
    """The review page is still open: keep the photo for this reviewer."""
    now = time.time()
    pv = t.photo_versions
    with db.write() as conn:
        return bool(
            conn.execute(
                update(pv)
                .where(pv.c.id == version_id, pv.c.claim_reviewer_id == reviewer_id)
                .values(claim_until=now + rules.claim_seconds)
            ).rowcount
        )


def queue_status(db: Database, reviewer_id: int) -> dict[str, int]:
    """What the reviewer's header shows: pending, failed-check pending, today's decisions."""
    now = time.time()
    midnight = time.mktime(time.localtime(now)[:3] + (0, 0, 0, 0, 0, -1))
    pv = t.photo_versions
    with db.read() as conn:
        pending, failed, held = conn.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((pv.c.check_ok == False, 1), else_=0)), 0),  # noqa: E712
                func.coalesce(
                    func.sum(
                        case(
                            (
                                and_(
                                    pv.c.claim_until >= now, pv.c.claim_reviewer_id != reviewer_id
                                ),
                                1,
                            ),
                            else_=0,
                        )
                    ),
                    0,
                ),
            )
            .select_from(pv)
            .join(t.orders, t.orders.c.id == pv.c.order_id)
            .where(_current_pending())
        ).one()
        live = and_(t.reviews.c.created_at >= midnight, t.reviews.c.undone_at.is_(None))
        mine = conn.execute(
            select(func.count())
            .select_from(t.reviews)
            .where(live, t.reviews.c.reviewer_id == reviewer_id)
        ).scalar_one()
        today = conn.execute(select(func.count()).select_from(t.reviews).where(live)).scalar_one()
    return {
        "pending": int(pending),
        "failed": int(failed),
        "held_by_others": int(held),
        "mine_today": int(mine),
        "all_today": int(today),
    }


def per_reviewer_today(db: Database) -> list[tuple[str, int]]:
    now = time.time()
    midnight = time.mktime(time.localtime(now)[:3] + (0, 0, 0, 0, 0, -1))
    with db.read() as conn:
        return [
            (name, int(n))
            for name, n in conn.execute(
                select(t.reviewers.c.name, func.count())
                .join(t.reviews, t.reviews.c.reviewer_id == t.reviewers.c.id)
                .where(t.reviews.c.created_at >= midnight, t.reviews.c.undone_at.is_(None))
                .group_by(t.reviewers.c.name)
                .order_by(func.count().desc())
            )
        ]


def next_pending(db: Database, after_version_id: int = 0) -> Any:
    """The oldest version waiting for review (no claim; for scripts and tests)."""
    with db.read() as conn:
        vid = conn.execute(
            select(t.photo_versions.c.id)
            .join(t.orders, t.orders.c.id == t.photo_versions.c.order_id)
            .where(_current_pending(), t.photo_versions.c.id > after_version_id)
            .order_by(t.photo_versions.c.id)
            .limit(1)
        ).scalar()
    return None if vid is None else version_row(db, vid)


def pending_count(db: Database) -> int:
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
    *,
    version_no: int | None = None,
    reason_codes: list[str] | None = None,
    rules: Rules | None = None,
) -> str:
    """Approve (→ 待处理) or reject (→ 未通过 with reason); returns the order number.

    Refused when the student withdrew the photo or sent a newer one meanwhile,
    when ``version_no`` (the version the reviewer saw) is not the current one,
    when another reviewer holds the photo, and (with ``rules``) when it comes
    within the guard time after the photo was handed to this reviewer.
    """
    return decide_full(
        db,
        version_id,
        reviewer,
        decision,
        reason_code,
        reason_text,
        version_no=version_no,
        reason_codes=reason_codes,
        rules=rules,
    )[0]


def decide_full(
    db: Database,
    version_id: int,
    reviewer: tuple[int, str],
    decision: str,
    reason_code: str | None = None,
    reason_text: str | None = None,
    *,
    version_no: int | None = None,
    reason_codes: list[str] | None = None,
    rules: Rules | None = None,
) -> tuple[str, int]:
    """``decide`` that also returns the review's id (for its undo link)."""
    if decision not in ("approve", "reject"):
        raise ValueError(decision)
    codes = list(reason_codes or ([reason_code] if reason_code else []))
    if decision == "reject" and not (codes or (reason_text or "").strip()):
        raise KioskError(
            "reason_required", *said("reason_required")
        )
    now = time.time()
    pv = t.photo_versions
    with db.write() as conn:
        row = conn.execute(
            select(
                t.orders,
                pv.c.version_no.label("v"),
                pv.c.claim_reviewer_id,
                pv.c.claimed_at,
                pv.c.claim_until,
            )
            .join(pv, pv.c.order_id == t.orders.c.id)
            .where(pv.c.id == version_id)
            .with_for_update()
        ).first()
        if row is None or row.state != orders.PENDING or row.version != row.v:
            raise ReviewConflict(f"version {version_id} is not pending")
        if version_no is not None and version_no != row.v:
            raise ReviewConflict(
                f"decision made on version {version_no}, current is {row.v}",
                said_zh("review_new_version"),
            )
        held = row.claim_reviewer_id is not None and (row.claim_until or 0) >= now
        if held and row.claim_reviewer_id != reviewer[0]:
            raise ReviewConflict(
                f"version {version_id} is held by another reviewer",
                said_zh("review_taken"),
            )
        if (
            rules is not None
            and row.claim_reviewer_id == reviewer[0]
            and row.claimed_at is not None
            and now - row.claimed_at < rules.guard_seconds
        ):
            raise TooFast()
        review_id = conn.execute(
            insert(t.reviews)
            .values(
                version_id=version_id,
                reviewer_id=reviewer[0],
                decision=decision,
                reason_code=(codes[0] if codes else None),
                reason_codes=json.dumps(codes) if codes else None,
                reason_text=reason_text,
                created_at=now,
            )
            .returning(t.reviews.c.id)
        ).scalar_one()
        values: dict[str, Any] = {"updated_at": now}
        if decision == "approve":
            values.update(state=orders.PROCESSING, reason_code=None, reason_text=None)
        else:
            values.update(
                state=orders.REJECTED,
                reason_code=codes[0] if codes else None,
                reason_text=reason_text,
            )
        conn.execute(update(t.orders).where(t.orders.c.id == row.id).values(**values))
        conn.execute(
            update(pv)
            .where(pv.c.id == version_id)
            .values(claim_reviewer_id=None, claim_until=None, claimed_at=None)
        )
        orders.audit(
            conn,
            f"reviewer:{reviewer[1]}",
            decision,
            row.order_no,
            f"version {row.v}" + (f" reason {','.join(codes)}" if codes else ""),
        )
    return row.order_no, review_id


def is_admin(db: Database, reviewer_id: int) -> bool:
    with db.read() as conn:
        return bool(
            conn.execute(
                select(t.reviewers.c.is_admin).where(t.reviewers.c.id == reviewer_id)
            ).scalar()
        )


def undo(
    db: Database, review_id: int, reviewer: tuple[int, str], rules: Rules, admin: bool = False
) -> tuple[str, int]:
    """Undo a decision: the order goes back to 待审核 and the photo to this reviewer.

    Allowed while the decision is the last one on the order's current version,
    the order is still in the state that decision put it in and its photo has
    not been exported; a reviewer may undo their own decision for
    ``undo_seconds``, an administrator any decision. Returns (order number,
    version id).
    """
    now = time.time()
    pv = t.photo_versions
    with db.write() as conn:
        row = conn.execute(
            select(
                t.reviews,
                t.orders.c.id.label("order_id"),
                t.orders.c.order_no,
                t.orders.c.state,
                t.orders.c.version,
                t.orders.c.exported_at,
                pv.c.version_no,
            )
            .join(pv, pv.c.id == t.reviews.c.version_id)
            .join(t.orders, t.orders.c.id == pv.c.order_id)
            .where(t.reviews.c.id == review_id)
            .with_for_update(of=t.orders)
        ).first()
        if row is None:
            raise UndoRefused(said_zh("no_such_review"), f"review {review_id} not found")
        if row.undone_at is not None:
            raise UndoRefused(said_zh("undo_already"), f"review {review_id} already undone")
        later = conn.execute(
            select(func.count())
            .select_from(t.reviews)
            .where(t.reviews.c.version_id == row.version_id, t.reviews.c.id > review_id)
        ).scalar_one()
        expected = orders.PROCESSING if row.decision == "approve" else orders.REJECTED
        if later or row.version != row.version_no or row.state != expected:
            raise UndoRefused(
                said_zh("undo_order_moved", label=orders.LABELS[row.state]),
                f"review {review_id}: order is {row.state}",
            )
        if row.exported_at is not None:
            raise UndoRefused(said_zh("undo_exported"), f"review {review_id}: exported")
        if not admin:
            if row.reviewer_id != reviewer[0]:
                raise UndoRefused(said_zh("undo_not_yours"), "not the reviewer")
            if now - row.created_at > rules.undo_seconds:
                minutes = int(rules.undo_seconds // 60)
                raise UndoRefused(
                    said_zh("undo_too_late", minutes=minutes), "undo window passed"
                )
        conn.execute(
            update(t.reviews)
            .where(t.reviews.c.id == review_id)
            .values(undone_at=now, undone_by=f"reviewer:{reviewer[1]}")
        )
        conn.execute(
            update(t.orders)
            .where(t.orders.c.id == row.order_id)
            .values(state=orders.PENDING, reason_code=None, reason_text=None, updated_at=now)
        )
        conn.execute(
            update(pv)
            .where(pv.c.id == row.version_id)
            .values(
                claim_reviewer_id=reviewer[0], claimed_at=now, claim_until=now + rules.claim_seconds
            )
        )
        orders.audit(
            conn,
            f"reviewer:{reviewer[1]}",
            "undo",
            row.order_no,
            f"version {row.version_no}: {row.decision} undone" + (" (admin)" if admin else ""),
        )
    return row.order_no, row.version_id


def recent_decisions(db: Database, limit: int = 100, order_no: str = "") -> list[Any]:
    """The newest decisions (for the undo list), optionally of one order."""
    pv = t.photo_versions
    query = (
        select(
            t.reviews.c.id,
            t.reviews.c.decision,
            t.reviews.c.reason_text,
            t.reviews.c.created_at,
            t.reviews.c.undone_at,
            t.reviews.c.undone_by,
            t.reviews.c.reviewer_id,
            t.reviewers.c.name.label("reviewer"),
            t.orders.c.order_no,
            t.orders.c.state,
            t.orders.c.version.label("order_version"),
            t.orders.c.exported_at,
            pv.c.id.label("version_id"),
            pv.c.version_no,
        )
        .join(t.reviewers, t.reviewers.c.id == t.reviews.c.reviewer_id)
        .join(pv, pv.c.id == t.reviews.c.version_id)
        .join(t.orders, t.orders.c.id == pv.c.order_id)
        .order_by(t.reviews.c.id.desc())
        .limit(limit)
    )
    if order_no:
        query = query.where(t.orders.c.order_no == order_no)
    with db.read() as conn:
        return list(conn.execute(query).all())


def previous_version(db: Database, order_id: int, version_no: int) -> Any:
    """The version before ``version_no`` with its last (not undone) review, if any."""
    pv = t.photo_versions
    with db.read() as conn:
        prev = conn.execute(
            select(pv).where(pv.c.order_id == order_id, pv.c.version_no == version_no - 1)
        ).first()
        if prev is None:
            return None, None
        review = conn.execute(
            select(t.reviews)
            .where(t.reviews.c.version_id == prev.id, t.reviews.c.undone_at.is_(None))
            .order_by(t.reviews.c.id.desc())
            .limit(1)
        ).first()
    return prev, review


def mark_exported(conn: Any, order_ids: list[int], now: float) -> None:
    """Photos that left in a batch export: their decisions can no longer be undone."""
    if order_ids:
        conn.execute(
            update(t.orders)
            .where(t.orders.c.id.in_(order_ids), t.orders.c.exported_at.is_(None))
            .values(exported_at=now)
        )


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
