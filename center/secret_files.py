"""The center's secrets as files, apart from the data.

The download-link HMAC secret, the console-session secret and the poster
signing key used to sit in ``center.db`` (and the key beside it): whoever got
a copy of the database or a backup of the data directory could forge download
links. Now each is a 32-byte file in ``secrets_dir`` (default
``<data_dir>/secrets``; the installer uses ``/etc/kiosk/center-secrets``,
created at install time), the directory 0700 and the files 0600. Every worker
process reads the same files; several hosts behind one PostgreSQL need the
same files (copy the first host's directory to the others): the database keeps
each secret's fingerprint and a host whose files differ refuses to start
(``agree_with_peers``), instead of signing links its peers refuse.

Older centers kept the secrets in the ``secrets`` table: ``adopt_db_secret``
moves such a value to its file on first start and deletes the row, so links and
sign-ins issued before the upgrade stay valid.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from center import schema as t
from center.db import Database
from kiosk.errors import KioskError

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


# -- several hosts on one database ------------------------------------------------
# Each host's installer makes its own secrets directory. Hosts that share a
# database must hold the same files (a link signed on host A is checked on host B),
# so the database keeps a fingerprint of each secret (a SHA-256 of it, which does
# not reveal it) and a host whose files differ refuses to start.
FINGERPRINT = "fingerprint:"


class SecretsDiffer(KioskError):
    """This host's secrets are not the ones its peers on this database use."""

    def __init__(self, key: str, secrets_dir: Path, filename: str) -> None:
        from kiosk.words import catalogue

        words = catalogue("center_ops")[key]
        fill = {"name": filename, "dir": str(secrets_dir)}
        super().__init__(
            "center_secrets", words["zh"].format(**fill), words["en"].format(**fill), ""
        )


def fingerprint(name: str, value: bytes) -> bytes:
    return hashlib.sha256(b"kiosk-center-secret\0" + name.encode() + b"\0" + value).digest()


def refuse_if_missing(db: Database, secrets_dir: Path, files: dict[str, str]) -> None:
    """Before creating any secret: one the peers already use must be copied, not made.

    ``files`` maps a secret's name to its file name in ``secrets_dir``.
    """
    with db.read() as conn:
        known = set(
            conn.execute(
                select(t.secrets.c.name).where(
                    t.secrets.c.name.in_([FINGERPRINT + n for n in files])
                )
            ).scalars()
        )
    for name, filename in files.items():
        if FINGERPRINT + name in known and not (secrets_dir / filename).exists():
            raise SecretsDiffer("secrets_missing", secrets_dir, filename)


def agree_with_peers(
    db: Database, secrets_dir: Path, values: dict[str, tuple[str, bytes]]
) -> None:
    """Record this host's fingerprints, or refuse when the database knows others.

    ``values`` maps a secret's name to (file name, value). The first host to
    start records them; every later one must match.
    """
    for name, (filename, value) in values.items():
        mine = fingerprint(name, value)
        key = FINGERPRINT + name
        with db.read() as conn:
            known = conn.execute(select(t.secrets.c.value).where(t.secrets.c.name == key)).first()
        if known is None:
            with contextlib.suppress(IntegrityError), db.write() as conn:
                conn.execute(insert(t.secrets).values(name=key, value=mine))
            with db.read() as conn:
                known = conn.execute(
                    select(t.secrets.c.value).where(t.secrets.c.name == key)
                ).first()
        if known is None or not hmac.compare_digest(bytes(known[0]), mine):
            raise SecretsDiffer("secrets_differ", secrets_dir, filename)
