"""Reviewer sign-in: server-side sessions, CSRF tokens and login throttling.

The cookie holds a random token; the ``console_sessions`` row (its SHA-256)
makes it valid, so logout really ends it -- a copied cookie is worthless after
logout -- and every center process sees that at once. Forms carry a CSRF token
derived from the cookie; the cookie is SameSite=Strict and HttpOnly.

Login attempts are throttled in the database (``identify_limits`` rows), with
the attempt counted *before* the password is checked, in one transaction, so
101 concurrent guesses check at most ``login_pair_failures`` passwords:

- per address and reviewer name: after ``login_pair_failures`` wrong passwords
  that pair waits ``login_window_minutes``;
- per address: after ``login_source_failures`` wrong passwords (any names) the
  address waits as long;
- per reviewer name, from all addresses: after ``login_account_failures`` the
  name is *slowed down* (one attempt per ``login_account_slowdown_seconds``),
  never locked, so a stranger cannot lock a reviewer out.

An unknown name costs the same scrypt as a known one (a dummy hash), so the
answer time does not tell which names exist.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy import Connection, delete, insert, select

from center import schema as t
from center.identify import _limit_row, _save
from center.security import hash_secret, token_digest, verify_secret

COOKIE = "center_session"
_DUMMY_HASH = hash_secret(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class LoginLimits:
    pair_failures: int
    source_failures: int
    account_failures: int
    window: float
    account_slowdown: float
    session_seconds: float

    @classmethod
    def from_center(cls, center: Any) -> LoginLimits:
        def c(key: str, default: float) -> float:
            return float(center.conf(f"console.{key}", default))

        return cls(
            pair_failures=int(c("login_pair_failures", 5)),
            source_failures=int(c("login_source_failures", 20)),
            account_failures=int(c("login_account_failures", 10)),
            window=c("login_window_minutes", 15) * 60,
            account_slowdown=c("login_account_slowdown_seconds", 5),
            session_seconds=c("session_hours", 8) * 3600,
        )


def _sign(secret: bytes, text: str) -> str:
    import base64

    return base64.urlsafe_b64encode(
        hmac.new(secret, text.encode(), hashlib.sha256).digest()
    ).decode()


# -- sessions -------------------------------------------------------------------
def start_session(center: Any, reviewer_id: int) -> tuple[str, int]:
    """A new sign-in: (cookie value, lifetime in seconds)."""
    lifetime = int(LoginLimits.from_center(center).session_seconds)
    token = secrets.token_urlsafe(32)
    now = time.time()
    with center.db.write() as conn:
        conn.execute(
            insert(t.console_sessions).values(
                token_hash=token_digest(token),
                reviewer_id=reviewer_id,
                created_at=now,
                expires_at=now + lifetime,
            )
        )
    return token, lifetime


def end_session(center: Any, token: str | None) -> None:
    if token and len(token) <= 100:
        with center.db.write() as conn:
            conn.execute(
                delete(t.console_sessions).where(
                    t.console_sessions.c.token_hash == token_digest(token)
                )
            )


def purge_sessions(conn: Connection, now: float) -> None:
    conn.execute(delete(t.console_sessions).where(t.console_sessions.c.expires_at < now))


def current(request: Request) -> tuple[int, str] | None:
    """(reviewer id, name) of a live session, looked up once per request."""
    cached: tuple[int, str] | None | bool = getattr(request.state, "reviewer", False)
    if cached is not False:
        return cached if isinstance(cached, tuple) else None
    who: tuple[int, str] | None = None
    token = request.cookies.get(COOKIE)
    if token and len(token) <= 100:
        center = request.app.state.center
        with center.db.read() as conn:
            row = conn.execute(
                select(
                    t.reviewers.c.id,
                    t.reviewers.c.name,
                    t.reviewers.c.is_admin,
                    t.console_sessions.c.expires_at,
                )
                .join(t.reviewers, t.reviewers.c.id == t.console_sessions.c.reviewer_id)
                .where(t.console_sessions.c.token_hash == token_digest(token))
            ).first()
        if row is not None and row.expires_at > time.time():
            who = (int(row.id), str(row.name))
            # read with the session on every request: a demotion holds at once
            request.state.is_admin = bool(row.is_admin)
    request.state.reviewer = who
    return who


def is_admin(request: Request) -> bool:
    """Whether the signed-in user is an administrator (center/console/roles.py)."""
    return current(request) is not None and bool(getattr(request.state, "is_admin", False))


def csrf_token(request: Request) -> str:
    center = request.app.state.center
    return _sign(center.session_secret, "csrf:" + (request.cookies.get(COOKIE) or ""))[:32]


def csrf_ok(request: Request, token: str) -> bool:
    return bool(request.cookies.get(COOKIE)) and hmac.compare_digest(token, csrf_token(request))


# -- login ----------------------------------------------------------------------
def _scope(kind: str, *parts: str) -> str:
    return f"login:{kind}:" + hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def _reserve(conn: Connection, lim: LoginLimits, name: str, source: str, now: float) -> float:
    """Count this attempt as a failure up front; 0, or seconds to wait (nothing counted)."""
    rows = {}
    for kind, scope in (
        ("pair", _scope("pair", source, name)),
        ("source", _scope("src", source)),
        ("account", _scope("acct", name)),
    ):
        row = _limit_row(conn, scope, now)
        if row.locked_until > now:
            return float(row.locked_until) - now
        failures = row.failures if now - row.window_start < lim.window else 0
        start = row.window_start if failures else now
        rows[kind] = (scope, failures, start, row)
    _, acct_failures, _, acct = rows["account"]
    if acct_failures >= lim.account_failures:
        last = acct.calls_window  # the account's last attempt, once it is slowed down
        if now - last < lim.account_slowdown:
            return float(lim.account_slowdown - (now - last))
    limits = {"pair": lim.pair_failures, "source": lim.source_failures}
    for kind, (scope, failures, start, _row) in rows.items():
        failures += 1
        values: dict[str, Any] = {"failures": failures, "window_start": start}
        if kind == "account":
            values["calls_window"] = now
        elif failures >= limits[kind]:
            values["locked_until"] = now + lim.window
        _save(conn, scope, **values)
    return 0.0


def _release(conn: Connection, name: str, source: str, now: float) -> None:
    """The password was right: this attempt was no failure."""
    _save(conn, _scope("pair", source, name), failures=0, locked_until=0.0)
    for scope in (_scope("src", source), _scope("acct", name)):
        row = _limit_row(conn, scope, now)
        _save(conn, scope, failures=max(0, row.failures - 1))


def check_login(
    center: Any, name: str, password: str, source: str = ""
) -> tuple[tuple[int, str] | None, int]:
    """((id, name) or None, seconds to wait before trying again)."""
    lim = LoginLimits.from_center(center)
    now = time.time()
    name = name[:100]
    with center.db.write() as conn:
        wait = _reserve(conn, lim, name, source, now)
    if wait > 0:
        return None, max(1, math.ceil(wait))
    with center.db.read() as conn:
        row = conn.execute(
            select(t.reviewers.c.id, t.reviewers.c.name, t.reviewers.c.password_hash).where(
                t.reviewers.c.name == name
            )
        ).first()
    # the same scrypt for an unknown name: equal time
    ok = verify_secret(password, row.password_hash if row is not None else _DUMMY_HASH)
    if row is None or not ok:
        return None, 0
    with center.db.write() as conn:
        _release(conn, name, source, now)
    return (row.id, row.name), 0
