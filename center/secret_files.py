"""The center's secrets as files, apart from the data.

The download-link HMAC secret, the console-session secret and the poster
signing key used to sit in ``center.db`` (and the key beside it): whoever got
a copy of the database or a backup of the data directory could forge download
links. Now each is a 32-byte file in ``secrets_dir`` (default
``<data_dir>/secrets``; the installer uses ``/etc/kiosk/center-secrets``,
created at install time), the directory 0700 and the files 0600. Every worker
process reads the same files; several hosts behind one PostgreSQL need the
same files (copy the directory once).

Older centers kept the secrets in the ``secrets`` table: ``adopt_db_secret``
moves such a value to its file on first start and deletes the row, so links and
sign-ins issued before the upgrade stay valid.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from sqlalchemy import delete, select

from center import schema as t
from center.db import Database

SIZE = 32


def prepare_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    # the installer's directory may be read-only for the service (ProtectSystem=strict)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)
    return path


def write_new(path: Path, data: bytes) -> None:
    """Create ``path`` with ``data`` at mode 0600, atomically; a concurrent creator wins."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


def read_secret(path: Path) -> bytes:
    raw = path.read_bytes()
    if len(raw) != SIZE:
        raise RuntimeError(f"{path}: a center secret must be {SIZE} bytes, found {len(raw)}")
    return raw


def load_or_create(secrets_dir: Path, name: str, db: Database | None = None) -> bytes:
    """The secret ``name``: from its file, else adopted from the old table, else new."""
    path = secrets_dir / f"{name}.key"
    if not path.exists():
        value = _db_value(db, name) if db is not None else None
        write_new(path, value if value is not None else secrets.token_bytes(SIZE))
    value = read_secret(path)
    if db is not None:
        _forget_db_value(db, name)
    return value


def _db_value(db: Database, name: str) -> bytes | None:
    with db.read() as conn:
        row = conn.execute(select(t.secrets.c.value).where(t.secrets.c.name == name)).first()
    return bytes(row[0]) if row is not None and len(bytes(row[0])) == SIZE else None


def _forget_db_value(db: Database, name: str) -> None:
    with db.read() as conn:
        present = conn.execute(select(t.secrets.c.name).where(t.secrets.c.name == name)).first()
    if present is not None:
        with db.write() as conn:
            conn.execute(delete(t.secrets).where(t.secrets.c.name == name))
