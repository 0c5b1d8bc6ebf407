"""Identify a student, with rate limits and lock-outs kept in the database.

The last 4 ID characters are guessable (about 11 000 values, fewer in
practice), so wrong answers are counted per collection code and per kiosk and
lock further attempts for a while. An unknown code answers exactly like a known
one with wrong digits (same status, body and counters), so identify does not
tell a caller which codes exist. The counters are rows in
``identify_limits``: a restart of the center does not reset them, and several
worker processes or hosts share them.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from center import schema as t
from center.errors import ApiError
from center.words import said


@dataclass
class Limits:
    code_max_failures: int
    code_lockout: float
    kiosk_max_failures: int
    kiosk_window: float
    kiosk_lockout: float
    kiosk_max_per_minute: int

    @classmethod
    def from_conf(cls, conf: dict[str, Any]) -> Limits:
        return cls(
            code_max_failures=int(conf["code_max_failures"]),
            code_lockout=float(conf["code_lockout_minutes"]) * 60,
            kiosk_max_failures=int(conf["kiosk_max_failures"]),
            kiosk_window=float(conf["kiosk_window_minutes"]) * 60,
            kiosk_lockout=float(conf["kiosk_lockout_minutes"]) * 60,
            kiosk_max_per_minute=int(conf["kiosk_max_per_minute"]),
        )


def locked_out(retry_after: float) -> ApiError:
    return ApiError(
        423,
        "locked_out",
        *said("locked_out"),
        retry_after=max(1, math.ceil(retry_after)),
    )


def _limit_row(conn: Connection, scope: str, now: float) -> Any:
    ins = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(
        ins(t.identify_limits)
        .values(
            scope=scope, failures=0, window_start=now, calls=0, calls_window=now, locked_until=0.0
        )
        .on_conflict_do_nothing(index_elements=["scope"])
    )
    return conn.execute(
        select(t.identify_limits).where(t.identify_limits.c.scope == scope).with_for_update()
    ).one()


def _save(conn: Connection, scope: str, **values: Any) -> None:
    conn.execute(
        update(t.identify_limits).where(t.identify_limits.c.scope == scope).values(**values)
    )


class Outcome:
    """What identify decided; the transaction commits the counters either way."""

    def __init__(self, error: ApiError | None = None, student: Any = None) -> None:
        self.error = error
        self.student = student


def check_identity(
    conn: Connection,
    limits: Limits,
    kiosk_id: int,
    code: str,
    last4: str,
    feature_code: str | None,
    context: dict[str, str],
    now: float | None = None,
) -> Outcome:
    now = time.time() if now is None else now
    kscope = f"kiosk:{kiosk_id}"
    krow = _limit_row(conn, kscope, now)
    if krow.locked_until > now:
        return Outcome(locked_out(krow.locked_until - now))
    calls, window = (
        (krow.calls + 1, krow.calls_window) if now - krow.calls_window < 60 else (1, now)
    )
    _save(conn, kscope, calls=calls, calls_window=window)
    if calls > limits.kiosk_max_per_minute:
        return Outcome(
            ApiError(
                429,
                "rate_limited",
                *said("rate_limited"),
                retry_after=max(1, math.ceil(window + 60 - now)),
            )
        )

    def kiosk_failure() -> ApiError | None:
        failures, start = (
            (krow.failures + 1, krow.window_start)
            if now - krow.window_start < limits.kiosk_window
            else (1, now)
        )
        if failures >= limits.kiosk_max_failures:
            _save(
                conn, kscope, failures=0, window_start=now, locked_until=now + limits.kiosk_lockout
            )
            return locked_out(limits.kiosk_lockout)
        _save(conn, kscope, failures=failures, window_start=start)
        return None

    ctx_error = _check_context(conn, context, now)
    if ctx_error:
        return Outcome(ctx_error)
    student = conn.execute(select(t.students).where(t.students.c.collection_code == code)).first()
    # Known and unknown codes take the same path and get the same answers: the
    # counter is keyed by the code itself, an unknown code is "wrong digits".
    cscope = code_scope(code)
    crow = _limit_row(conn, cscope, now)
    if crow.locked_until > now:
        return Outcome(locked_out(crow.locked_until - now))
    failures = crow.failures  # reset to 0 whenever a lock is set or the digits are right

    wrong = None
    if context["kind"] == "batch":
        batch_fc = conn.execute(
            select(t.batches.c.feature_code).where(t.batches.c.id == context["id"])
        ).scalar_one()
        if (feature_code or "").strip().upper() != batch_fc.upper():
            wrong = (
                "wrong_feature_code",
                *said("wrong_feature_code"),
            )
    if wrong is None and (
        student is None
        or not hmac.compare_digest(last4.strip().upper(), student.id_last4.upper())
    ):
        wrong = (
            "wrong_digits",
            *said("wrong_digits"),
        )
    if wrong is None:
        _save(conn, cscope, failures=0, window_start=now, locked_until=0.0)
        if context["kind"] == "batch" and student is not None and student.batch_id != context["id"]:
            # said only to a caller who knows the digits and the feature code
            return Outcome(
                ApiError(
                    403,
                    "wrong_batch",
                    *said("wrong_batch"),
                )
            )
        return Outcome(student=student)

    kiosk_error = kiosk_failure()
    failures += 1
    if failures >= limits.code_max_failures:
        _save(conn, cscope, failures=0, window_start=now, locked_until=now + limits.code_lockout)
        return Outcome(locked_out(limits.code_lockout))
    _save(conn, cscope, failures=failures, window_start=now, locked_until=0.0)
    if kiosk_error:
        return Outcome(kiosk_error)
    return Outcome(
        ApiError(
            403, wrong[0], wrong[1], wrong[2], attempts_left=limits.code_max_failures - failures
        )
    )


def code_scope(code: str) -> str:
    """The limit row of a collection code: a hash, so the table holds no codes."""
    return "code:" + hashlib.sha256(code.encode()).hexdigest()[:40]


def count_refusal(conn: Connection, limits: Limits, kiosk_id: int, now: float | None = None) -> None:
    """An order call without a valid grant counts like a wrong identify of that kiosk.

    A kiosk probing codes through the order calls is locked out by the same
    ``kiosk_max_failures`` as one guessing digits (and its calls per minute count).
    """
    now = time.time() if now is None else now
    kscope = f"kiosk:{kiosk_id}"
    krow = _limit_row(conn, kscope, now)
    calls, window = (
        (krow.calls + 1, krow.calls_window) if now - krow.calls_window < 60 else (1, now)
    )
    failures, start = (
        (krow.failures + 1, krow.window_start)
        if now - krow.window_start < limits.kiosk_window
        else (1, now)
    )
    if failures >= limits.kiosk_max_failures:
        _save(conn, kscope, calls=calls, calls_window=window, failures=0, window_start=now,
              locked_until=now + limits.kiosk_lockout)
    else:
        _save(conn, kscope, calls=calls, calls_window=window, failures=failures,
              window_start=start)


def purge_limits(conn: Connection, limits: Limits, now: float | None = None) -> int:
    """Drop counters that no longer hold anything back (bounds the table).

    A row is idle when it is not locked and its windows are over; the per-call
    and per-failure windows are at most ``kiosk_window`` and the code lock-out.
    """
    now = time.time() if now is None else now
    horizon = now - max(limits.kiosk_window, limits.code_lockout, 60.0)
    return int(
        conn.execute(
            delete(t.identify_limits).where(
                t.identify_limits.c.locked_until < now,
                t.identify_limits.c.window_start < horizon,
                t.identify_limits.c.calls_window < horizon,
            )
        ).rowcount
        or 0
    )


def _check_context(conn: Connection, context: dict[str, str], now: float) -> ApiError | None:
    table = {"batch": t.batches, "region": t.regions}.get(context.get("kind", ""))
    row = None
    if table is not None:
        row = conn.execute(select(table).where(table.c.id == context.get("id"))).first()
    if row is None:
        return ApiError(
            404,
            "unknown_context",
            *said("unknown_context"),
        )
    today = time.strftime("%Y-%m-%d", time.localtime(now))
    if not (row.valid_from <= today <= row.valid_to):
        return ApiError(
            403,
            "context_expired",
            *said("context_expired"),
        )
    return None
