"""Signed, expiring download links: ``/d/<payload>.<hmac>``.

The token names the order number and photo version, never the collection
code, and carries its own expiry, so the download needs no login and no
database row; the HMAC makes it unforgeable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(secret: bytes, order_no: str, version: int, expires_at: int) -> str:
    payload = _b64(json.dumps({"o": order_no, "v": version, "e": expires_at}).encode())
    sig = hmac.new(secret, payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(sig)}"


def read_token(secret: bytes, token: str, now: float | None = None) -> tuple[str, int] | None:
    """(order_no, version) when the signature holds and the link has not expired."""
    payload, _, sig = token.partition(".")
    if not payload or not sig or len(token) > 400:
        return None
    expected = hmac.new(secret, payload.encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(expected, _unb64(sig)):
            return None
        data = json.loads(_unb64(payload))
    except (ValueError, TypeError):
        return None
    if not isinstance(data, dict) or data.get("e", 0) < (now if now is not None else time.time()):
        return None
    return str(data.get("o")), int(data.get("v", 0))
