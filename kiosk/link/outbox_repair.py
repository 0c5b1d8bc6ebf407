"""When the outbox's disk is full or its database is damaged: keep the photos moving.

The photos and their sidecars (``photos/<h>.jpg`` + ``.json``) are the truth;
the SQLite file is an index of them plus upload progress. So:

* **A damaged database** (truncated, overwritten, "file is not a database",
  a failed ``quick_check``) is renamed aside -- ``outbox.db.damaged-<time>``,
  with its ``-wal``/``-shm``, kept for the operator -- and a fresh one is
  rebuilt by adopting every sidecar whose photo matches its checksum. A photo
  the center already had is sent once more with its idempotency key, and the
  center answers with the version it stored: nothing is lost or doubled.
  Every field of a sidecar that names a column of ``items`` is carried over,
  so fields added later (an upload ticket, ...) survive a rebuild.
* **A full disk**: a small reserve file (``disk-reserve``) is kept beside the
  database. When SQLite cannot write, the reserve is released so the uploader
  can still lease, acknowledge and purge -- uploading is what frees space --
  and a new photo is refused until the reserve can be put back.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger("kiosk.link.outbox")

DAMAGED_NAMES = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
RESERVE_NAME = "disk-reserve"
# Below this many free bytes a failed write is taken as the disk being full (SQLite reports
# a full disk while growing its shared-memory file as a plain "disk I/O error").
FULL_BELOW = 256 * 1024
# Sidecar keys that map to differently named columns, or to none.
_RENAMED = {"idempotency_key": "idem_key"}
_NOT_COLUMNS = {"v", "meta", "created_at"}


class DamagedDatabase(Exception):
    """The outbox database cannot be read as one (corrupt, truncated, not a database)."""


def is_damaged(exc: BaseException) -> bool:
    if isinstance(exc, DamagedDatabase):
        return True
    if not isinstance(exc, sqlite3.DatabaseError) or isinstance(exc, sqlite3.OperationalError):
        return False
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    text = str(exc).lower()
    return (name.startswith(DAMAGED_NAMES) or "malformed" in text
            or "not a database" in text)


def free_bytes(directory: Path) -> int | None:
    try:
        st = os.statvfs(directory)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def disk_full(directory: Path, exc: BaseException | None = None) -> bool:
    """True when ``exc`` (or the state of the file system alone) means "no space left"."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc).lower():
        return True
    free = free_bytes(directory)
    return free is not None and free < FULL_BELOW


def integrity_problem(db: sqlite3.Connection) -> str | None:
    """``PRAGMA quick_check`` in a line, None when fine (the outbox is small: milliseconds)."""
    rows = db.execute("PRAGMA quick_check").fetchall()
    text = "; ".join(str(r[0]) for r in rows[:3])
    return None if text == "ok" else text


@contextlib.contextmanager
def repair_lock(directory: Path) -> Iterator[None]:
    """One process at a time sets a database aside (the screen and the worker may both
    find it damaged; the second must not set aside the fresh one the first made)."""
    fd = os.open(directory / ".repair.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def quarantine(path: Path, now: float | None = None) -> Path:
    """Rename the database and its ``-wal``/``-shm`` aside; returns the new database name."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now or time.time()))
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{path}{suffix}")
        if src.exists():
            os.replace(src, f"{target}{suffix}")
    with contextlib.suppress(OSError):
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return target


def damaged_copies(path: Path) -> list[Path]:
    """Databases set aside by ``quarantine``, oldest first."""
    return sorted(p for p in path.parent.glob(f"{path.name}.damaged-*")
                  if not p.name.endswith(("-wal", "-shm")))


def carry_over(db: sqlite3.Connection, side: dict[str, Any]) -> None:
    """Copy every sidecar field that names a column of ``items`` into the adopted row.

    ``_insert`` fills the columns it knows; this keeps fields added to sidecars
    and rows later (whatever their name) through a rebuild, without this
    module having to know them.
    """
    columns = {r[1] for r in db.execute("PRAGMA table_info(items)")}
    values = {}
    for key, value in side.items():
        col = _RENAMED.get(key, key)
        if key in _NOT_COLUMNS or col in ("id", "idem_key") or col not in columns:
            continue
        if isinstance(value, dict | list):
            value = json.dumps(value, ensure_ascii=False)
        values[col] = value
    if not values:
        return
    sets = ", ".join(f'"{c}" = ?' for c in values)
    db.execute(f"UPDATE items SET {sets} WHERE idem_key = ?",
               (*values.values(), side["idempotency_key"]))


# -- the disk reserve ------------------------------------------------------------
def reserve_size(directory: Path, wanted: int) -> int:
    """``wanted`` bytes, but never more than 1/20 of a small file system."""
    try:
        st = os.statvfs(directory)
    except OSError:
        return 0
    return max(0, min(wanted, st.f_blocks * st.f_frsize // 20))


def ensure_reserve(directory: Path, wanted: int) -> bool:
    """Make sure the reserve file exists (real blocks, not sparse); False if no room for it."""
    size = reserve_size(directory, wanted)
    path = directory / RESERVE_NAME
    if size <= 0:
        return True
    with contextlib.suppress(OSError):
        if path.stat().st_size >= size:
            return True
    free = free_bytes(directory)
    if free is not None and free < size + FULL_BELOW:
        return False
    tmp = directory / f".{RESERVE_NAME}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.posix_fallocate(fd, 0, size)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            return False
        log.debug("outbox: no disk reserve: %s", exc)  # e.g. a read-only directory
        return True
    return True


def short_of_room(directory: Path, wanted: int) -> bool:
    """The disk is full, or the reserve is gone and there is no room to put it back."""
    free = free_bytes(directory)
    if free is None:
        return False
    size = reserve_size(directory, wanted)
    missing = size > 0 and not (directory / RESERVE_NAME).exists()
    return free < FULL_BELOW or (missing and free < size + FULL_BELOW)


def release_reserve(directory: Path) -> int:
    """Delete the reserve; returns the bytes freed (0 if there was none)."""
    path = directory / RESERVE_NAME
    try:
        size = path.stat().st_size
        path.unlink()
    except OSError:
        return 0
    return size
