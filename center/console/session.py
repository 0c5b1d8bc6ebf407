"""Reviewer sign-in: a signed cookie, CSRF tokens and a persisted login lock-out.

No server-side session table: the cookie carries reviewer id, name and expiry
under an HMAC with a secret kept in the database. Forms carry a CSRF token
derived from the cookie, and the cookie is SameSite=Strict and HttpOnly.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from fastapi import Request
from sqlalchemy import select

from center import schema as t
from center.identify import _limit_row, _save
from center.security import verify_secret

COOKIE = "center_session"
LIFETIME = 8 * 3600
LOGIN_MAX_FAILURES = 5
LOGIN_LOCKOUT = 15 * 60


def _sign(secret: bytes, text: str) -> str:
    return base64.urlsafe_b64encode(
        hmac.new(secret, text.encode(), hashlib.sha256).digest()
    ).decode()


def make_cookie(secret: bytes, reviewer_id: int, name: str) -> str:
    payload = base64.urlsafe_b64encode(
        json.dumps({"i": reviewer_id, "n": name, "e": int(time.time()) + LIFETIME}).encode()
    ).decode()
    return f"{payload}.{_sign(secret, payload)}"


def read_cookie(secret: bytes, value: str | None) -> tuple[int, str] | None:
    if not value or "." not in value:
        return None
    payload, sig = value.rsplit(".", 1)
    if not hmac.compare_digest(sig, _sign(secret, payload)):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload))
    except ValueError:
        return None
    if data.get("e", 0) < time.time():
        return None
    return int(data["i"]), str(data["n"])


def current(request: Request) -> tuple[int, str] | None:
    center = request.app.state.center
    return read_cookie(center.session_secret, request.cookies.get(COOKIE))


def csrf_token(request: Request) -> str:
    center = request.app.state.center
    return _sign(center.session_secret, "csrf:" + (request.cookies.get(COOKIE) or ""))[:32]


def csrf_ok(request: Request, token: str) -> bool:
    return bool(request.cookies.get(COOKIE)) and hmac.compare_digest(token, csrf_token(request))


def check_login(center: Any, name: str, password: str) -> tuple[tuple[int, str] | None, int]:
    """((id, name) or None, seconds locked). Failures count per reviewer name, in the DB."""
    now = time.time()
    scope = "login:" + hashlib.sha256(name.encode()).hexdigest()[:32]
    with center.db.write() as conn:
        limit = _limit_row(conn, scope, now)
        if limit.locked_until > now:
            return None, int(limit.locked_until - now) + 1
    with center.db.read() as conn:
        row = conn.execute(
            select(t.reviewers.c.id, t.reviewers.c.name, t.reviewers.c.password_hash).where(
                t.reviewers.c.name == name
            )
        ).first()
    ok = row is not None and verify_secret(password, row.password_hash)
    with center.db.write() as conn:
        limit = _limit_row(conn, scope, now)
        if ok:
            _save(conn, scope, failures=0, locked_until=0.0)
            return (row.id, row.name), 0
        failures = limit.failures + 1
        if failures >= LOGIN_MAX_FAILURES:
            _save(conn, scope, failures=0, locked_until=now + LOGIN_LOCKOUT)
            return None, LOGIN_LOCKOUT
        _save(conn, scope, failures=failures)
    return None, 0
