"""Secrets at rest: device tokens and reviewer passwords, stored only as hashes.

Both use hashlib.scrypt. Verifying a token costs tens of milliseconds on
purpose, so the API keeps verified tokens in a short-lived in-memory cache keyed
by a SHA-256 of the token; a kiosk pays the scrypt cost once per cache period,
not once per call.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(
        secret.encode(), salt=base64.b64decode(salt_b64), n=int(n), r=int(r), p=int(p)
    )
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


def new_device_token(kiosk_id: int) -> str:
    """``<kiosk id>.<random>``: the id finds the row, the random part is the secret."""
    return f"{kiosk_id}.{secrets.token_urlsafe(32)}"


def split_token(token: str) -> tuple[int, str] | None:
    head, _, secret = token.partition(".")
    if not head.isdigit() or len(secret) < 20 or len(token) > 200:
        return None
    return int(head), secret


class TokenCache:
    """Verified tokens (and recent failures) for ``ttl`` seconds, by SHA-256 of the token."""

    def __init__(self, ttl: float = 60.0, max_entries: int = 10000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict[bytes, tuple[float, tuple[int, str] | None]] = {}

    @staticmethod
    def key(token: str) -> bytes:
        return hashlib.sha256(token.encode()).digest()

    def get(self, token: str) -> tuple[bool, tuple[int, str] | None]:
        """(hit, kiosk (id, name) or None for a cached refusal)."""
        with self._lock:
            entry = self._entries.get(self.key(token))
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, token: str, kiosk: tuple[int, str] | None) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[self.key(token)] = (time.monotonic() + self.ttl, kiosk)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
