"""Secrets at rest: device tokens and reviewer passwords, stored only as hashes.

Reviewer passwords use hashlib.scrypt (low entropy: slow on purpose). Device
tokens are 256-bit random strings and use SHA-256 (``hash_token``): every call
checks the token against the database row, so a rotated or disabled token stops
working at once in every process, with no cache to outlive the change.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading

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


def hash_token(token: str) -> str:
    """A device token's stored form: SHA-256, not scrypt.

    Device tokens carry 256 random bits, so a fast hash is as safe as a slow one
    against a stolen database, and it makes a forged token cost microseconds:
    nothing to throttle, no per-caller table, no way to slow the real kiosk down.
    """
    return "sha256$" + hashlib.sha256(token.encode()).hexdigest()


def token_digest(token: str) -> str:
    """Hex SHA-256 of a random bearer secret (grants, console sessions): the row key."""
    return hashlib.sha256(token.encode()).hexdigest()


# scrypt is still accepted for tokens issued before hash_token (upgraded on first
# use); at most two such verifications run at once, so forged tokens against an
# old row cannot take every CPU.
_LEGACY = threading.BoundedSemaphore(2)


def verify_token(token: str, stored: str) -> bool:
    if stored.startswith("sha256$"):
        return hmac.compare_digest(hash_token(token), stored)
    if stored.startswith("scrypt$"):
        with _LEGACY:
            return verify_secret(token, stored)
    return False
