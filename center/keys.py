"""The center's keys: the poster signing key (Ed25519) and the download-link secret.

The signing key is a file in the data directory, created on first start with
mode 0600; kiosks fetch the public half from ``GET /api/v1/keys`` to verify
batch and region QR posters. The download-link HMAC secret lives in the
database so every worker process and every host behind one PostgreSQL agree.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from center import schema as t
from center.db import Database

KEY_FILE = "context_signing_key.ed25519"


def load_or_create_signing_key(secrets_dir: Path, legacy_dir: Path | None = None) -> bytes:
    """The raw 32-byte Ed25519 private key, created atomically on first use.

    It lives in ``secrets_dir`` (center/secret_files.py); a key an older center
    left in the data directory (``legacy_dir``) is moved there on first start.
    """
    path = secrets_dir / KEY_FILE
    old = legacy_dir / KEY_FILE if legacy_dir is not None else None
    if not path.exists() and old is not None and old.exists():
        secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.replace(old, path)
    if path.exists():
        raw = path.read_bytes()
        if len(raw) != 32:
            raise RuntimeError(f"{path}: not a raw Ed25519 private key")
        return raw
    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(raw)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)  # fails if another process won the race: keep theirs
    except FileExistsError:
        pass
    tmp.unlink(missing_ok=True)
    return path.read_bytes()


def public_key_b64(private_raw: bytes) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pub = Ed25519PrivateKey.from_private_bytes(private_raw).public_key()
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def db_secret(db: Database, name: str) -> bytes:
    """A random 32-byte secret stored once in the database (shared by all workers)."""
    with db.read() as conn:
        row = conn.execute(select(t.secrets.c.value).where(t.secrets.c.name == name)).first()
    if row is not None:
        return bytes(row[0])
    try:
        with db.write() as conn:
            conn.execute(insert(t.secrets).values(name=name, value=secrets.token_bytes(32)))
    except IntegrityError:
        pass
    with db.read() as conn:
        return bytes(
            conn.execute(select(t.secrets.c.value).where(t.secrets.c.name == name)).scalar_one()
        )
