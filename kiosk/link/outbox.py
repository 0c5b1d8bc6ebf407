"""The durable outbox: a submitted photo stays on the booth's disk until the center has it.

Why this order of writes can never lose a photo
-----------------------------------------------
``enqueue`` writes, each step atomic and fsync'd (file, then directory):
1. ``photos/<h>.jpg`` — the JPEG (``durable.write_durable``);
2. ``photos/<h>.json`` — a sidecar with the collection code, idempotency key,
   SHA-256 of the JPEG and the caller's meta;
3. the row, in an SQLite transaction (WAL, ``synchronous=FULL``);
and only then returns — the caller tells the student "submitted" after that.
A crash or power cut:
- before 2 completes: at most a lone JPEG or temp file, and ``enqueue`` never
  returned, so the student was never told the photo was submitted; lone files
  are removed by ``recover`` after a grace period;
- after 2, before 3 commits: ``recover`` (run on every open) finds the sidecar
  without a row and adopts it — the photo is uploaded as if the commit had
  happened;
- after 3: the row is durable and the file is already on disk.
The row is never deleted before the center acknowledged it; files are removed
only after the row says ``acked`` and the retention time has passed (file
first, row second, so a crash in between leaves a row whose file is gone,
which the next purge finishes).

Uploads and crashes
-------------------
A drainer claims a row with a lease (owner ``host:pid:nonce`` and an expiry),
so two drainers (the screen's thread and ``kiosk worker``) never send the same
photo at once; a lease whose owner process is dead on this host, or that
expired, is taken over. If the uploader dies after the center stored the photo
but before the acknowledgement commits here, the next upload replays the same
idempotency key and the center answers with the same version: a retried upload
counts once.

Errors are classified: unreachable or retryable refusals (5xx, 429, token
problems) are retried with exponential back-off and jitter; refusals about the
photo or the order (``order_locked``, ``photo_noncompliant``...) park the item
with the center's reason for the operator (``kiosk outbox status``), who can
re-queue it (``kiosk outbox retry``). Nothing is ever dropped silently.

Faults of the booth itself (``kiosk.link.outbox_repair``): opening writes
nothing when the database is already set up, so ``kiosk outbox status`` reads
a full disk; a reserve file gives the uploader room to go on when the disk
fills (a new photo is refused instead); a damaged database is set aside and
the queue rebuilt from the sidecars, and the operator is told.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import json
import logging
import os
import random
import re
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from durable import write_durable
from kiosk import notices
from kiosk.errors import KioskError
from kiosk.link import outbox_repair as repair
from kiosk.link import wake
from kiosk.link.api import CenterApi
from kiosk.link.client import CenterRefused, CenterUnreachable
from kiosk.redact import code_ref

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id              INTEGER PRIMARY KEY,
    idem_key        TEXT NOT NULL UNIQUE,
    collection_code TEXT NOT NULL,
    photo           TEXT NOT NULL,          -- file stem under photos/
    sha256          TEXT NOT NULL,
    size            INTEGER NOT NULL,
    meta            TEXT NOT NULL DEFAULT '{}',
    state           TEXT NOT NULL DEFAULT 'pending',  -- pending | parked | acked
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    lease_owner     TEXT,
    lease_until     REAL,
    last_error_code TEXT,
    last_error      TEXT,                   -- JSON {code, zh, en, detail, status, extra}
    last_error_at   REAL,
    acked_at        REAL,
    answer          TEXT,                   -- the center's {order} on acknowledgement
    upload_ticket   TEXT                    -- the center's upload ticket for this order
);
CREATE INDEX IF NOT EXISTS items_due ON items(state, next_attempt_at);
CREATE TABLE IF NOT EXISTS stats (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_KEY_RE = re.compile(r"^[A-Za-z0-9._:\-]{8,100}$")  # the center's pattern
_FULL_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
HOST = socket.gethostname()


class OutboxFull(KioskError):
    """The photo could not be stored: the disk (or the process's file-size limit) is full."""

    def __init__(self, detail: str) -> None:
        zh, en = notices.words("outbox_disk_full")
        super().__init__("outbox_full", zh, en, detail)


class OutboxError(KioskError):
    """The outbox cannot take this item (bad input, key reused for another photo)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(
            code,
            *notices.words("outbox_refused"),
            detail,
        )


@dataclass(frozen=True)
class OutboxPolicy:
    """Retry and retention timing (``config/defaults/outbox.toml``)."""

    backoff_base_s: float = 2.0
    backoff_max_s: float = 300.0
    jitter: float = 0.3
    retention_after_ack_s: float = 72 * 3600.0
    lease_s: float = 120.0
    orphan_grace_s: float = 600.0
    reserve_mb: float = 4.0

    @classmethod
    def from_settings(cls, settings: Any) -> OutboxPolicy:
        sec = settings.section("outbox")
        return cls(
            backoff_base_s=float(sec["backoff_base_s"]),
            backoff_max_s=float(sec["backoff_max_s"]),
            jitter=float(sec["jitter"]),
            retention_after_ack_s=float(sec["retention_after_ack_h"]) * 3600.0,
            lease_s=float(sec["lease_s"]),
            orphan_grace_s=float(sec["orphan_grace_s"]),
            reserve_mb=float(sec["reserve_mb"]),
        )

    def backoff(self, attempts: int, rng: Callable[[], float] = random.random) -> float:
        """Delay before the next try after ``attempts`` failed ones.

        Exponential (base·2^(n-1), capped), minus up to ``jitter`` of it at
        random so that booths that lost the center together do not come back
        in lock-step.
        """
        n = max(1, attempts)
        delay = min(self.backoff_max_s, self.backoff_base_s * (2.0 ** min(n - 1, 30)))
        return delay * (1.0 - self.jitter * rng())


@dataclass
class DrainResult:
    uploaded: int = 0
    retried: int = 0
    parked: int = 0
    unreachable: bool = False  # the center did not take uploads (down, 5xx, token refused)
    answers: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def attempted(self) -> int:
        return self.uploaded + self.retried + self.parked


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner_dead(owner: str) -> bool:
    """True when the lease's owner is a process on this host that no longer runs."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != HOST or not pid_text.isdigit():
        return False
    return not _pid_alive(int(pid_text))


def _add_ticket_column(db: sqlite3.Connection) -> None:
    """Outboxes made before upload tickets get the column (empty for old rows)."""
    columns = {r[1] for r in db.execute("PRAGMA table_info(items)")}
    if "upload_ticket" not in columns:
        db.execute("ALTER TABLE items ADD COLUMN upload_ticket TEXT")


def _is_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
        return True
    if isinstance(exc, OutboxFull):
        return True
    return isinstance(exc, sqlite3.OperationalError) and "full" in str(exc).lower()


def disk_full_error(directory: Path, detail: str) -> OutboxFull:
    """``OutboxFull`` with the operator's one line about what to do."""
    free = repair.free_bytes(directory)
    where = f"{directory}: {free // 1024 if free is not None else '?'} KiB free"
    return OutboxFull(f"{notices.operator_line('outbox_disk_full')} ({where}; {detail})")


def _roomy(method: Callable[..., Any]) -> Callable[..., Any]:
    """A write of the uploader: on a full disk, release the reserve once and try again.

    Without room to record a lease or an acknowledgement nothing could be sent,
    and sending is what lets the booth delete its copies and free the disk.
    """

    @functools.wraps(method)
    def wrapper(self: Outbox, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.OperationalError, OSError) as exc:
            if not repair.disk_full(self.dir, exc):
                raise
            if not self.use_reserve():
                raise disk_full_error(self.dir, f"{type(exc).__name__}: {exc}") from None
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.OperationalError, OSError) as exc:
            if repair.disk_full(self.dir, exc):
                raise disk_full_error(self.dir, f"{type(exc).__name__}: {exc}") from None
            raise

    return wrapper


class Outbox:
    """``Outbox(path)``: the SQLite file; photos live in ``photos/`` beside it.

    Safe to share between threads of one process and between processes.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        policy: OutboxPolicy | None = None,
        clock: Callable[[], float] = time.time,
        reader: bool = False,
    ) -> None:
        """``reader``: for status only -- on a full disk open read-only rather than
        spend the uploader's disk reserve."""
        self.path = Path(path)
        self.reader = reader
        self.dir = self.path.parent
        self.photos = self.dir / "photos"
        self.wake_dir = self.dir / "wake"
        self.policy = policy or OutboxPolicy()
        self.clock = clock
        self.owner = f"{HOST}:{os.getpid()}:{secrets.token_hex(4)}"
        self._lock = threading.RLock()
        self.read_only = False  # True only when a full disk left no way to open it for writing
        self.rebuilt: dict[str, Any] | None = None  # set when a damaged database was replaced
        try:
            self.photos.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            if not (_is_full(exc) and self.photos.is_dir()):
                raise
        self._db = self._open()
        self._after_open()

    def reopen(self) -> None:
        """Open the database again (a running worker found it damaged): set aside, rebuild."""
        with self._lock:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self.read_only, self.rebuilt = False, None
            self._db = self._open()
            self._after_open()

    def _after_open(self) -> None:
        if self.read_only:
            return
        with contextlib.suppress(OSError):
            os.chmod(self.path, 0o600)
        repair.ensure_reserve(self.dir, self._reserve_bytes)
        try:
            if self.rebuilt is not None:
                self._finish_rebuild()
            else:
                self.recover()
        except (sqlite3.OperationalError, OSError) as exc:
            if not repair.disk_full(self.dir, exc):
                raise
            log.error("outbox: recovery postponed: %s", disk_full_error(self.dir, str(exc)).detail)

    def use_reserve(self) -> bool:
        """Release the disk reserve for the uploader; False when there was none left."""
        freed = repair.release_reserve(self.dir)
        if freed:
            log.error("outbox: disk full: released the %d KiB reserve so uploads go on; %s",
                      freed // 1024, notices.operator_line("outbox_disk_full"))
        return bool(freed)

    def short_of_room(self) -> bool:
        """The disk is full, or the reserve is spent and cannot be put back."""
        return self.read_only or repair.short_of_room(self.dir, self._reserve_bytes)

    def restore_reserve(self) -> bool:
        """Put the reserve back when there is room again (True: it is in place)."""
        return not self.read_only and repair.ensure_reserve(self.dir, self._reserve_bytes)

    @property
    def _reserve_bytes(self) -> int:
        return int(self.policy.reserve_mb * 1024 * 1024)

    def _connect(self, read_only: bool = False) -> sqlite3.Connection:
        if read_only:  # the WAL index cannot be created on a full disk: read the file alone
            db = sqlite3.connect(f"file:{self.path}?immutable=1", uri=True, timeout=15.0,
                                 isolation_level=None, check_same_thread=False)
        else:
            db = sqlite3.connect(self.path, timeout=15.0, isolation_level=None,
                                 check_same_thread=False)
        db.row_factory = sqlite3.Row
        return db

    def _prepare(self, db: sqlite3.Connection) -> None:
        """WAL, full sync, the schema -- writing only what is not so already.

        A booth whose disk is full must still open its outbox to read it and to
        upload (which frees space), so an outbox that is already set up is
        opened without a single write; ``quick_check`` finds a damaged file.
        """
        db.execute("PRAGMA busy_timeout=15000")
        if str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
            db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if version != SCHEMA_VERSION or not {"items", "stats"} <= tables:
            db.execute("BEGIN IMMEDIATE")
            try:
                for stmt in SCHEMA.split(";"):
                    if stmt.strip():
                        db.execute(stmt)
                _add_ticket_column(db)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        problem = repair.integrity_problem(db)
        if problem:
            raise repair.DamagedDatabase(f"quick_check: {problem}")

    def _open(self) -> sqlite3.Connection:
        """A ready connection; sets the database aside and starts afresh if it is damaged."""
        released = False
        for _ in range(3):
            db = self._connect()
            try:
                self._prepare(db)
                return db
            except sqlite3.DatabaseError as exc:
                db.close()
                if repair.is_damaged(exc) and self.rebuilt is None:
                    fresh = self._quarantine(exc)
                    if fresh is not None:
                        return fresh
                    continue
                if not repair.disk_full(self.dir, exc):
                    raise
                if not released and not self.reader and repair.release_reserve(self.dir):
                    log.error("outbox: disk full opening the queue; released the disk reserve")
                    released = True
                    continue
                return self._open_read_only(exc)
            except repair.DamagedDatabase as exc:
                db.close()
                if self.rebuilt is not None:
                    raise
                fresh = self._quarantine(exc)
                if fresh is not None:
                    return fresh
        raise OutboxError("outbox_unusable", f"{self.path}: cannot be opened or rebuilt")

    def _open_read_only(self, exc: BaseException) -> sqlite3.Connection:
        db = self._connect(read_only=True)
        try:
            db.execute("SELECT COUNT(*) FROM items").fetchone()
        except sqlite3.DatabaseError:
            db.close()
            raise disk_full_error(self.dir, f"{type(exc).__name__}: {exc}") from None
        self.read_only = True
        log.error("outbox: %s; opened read-only",
                  notices.operator_line("outbox_disk_full"))
        return db

    def _quarantine(self, exc: BaseException) -> sqlite3.Connection | None:
        """Set the damaged file aside -- unless another process just did: then its
        fresh database is returned, ready."""
        with repair.repair_lock(self.dir):
            db = self._connect()
            try:
                self._prepare(db)
                return db  # repaired meanwhile by the other process
            except (sqlite3.DatabaseError, repair.DamagedDatabase):
                db.close()
            kept = repair.quarantine(self.path, self.clock())
        self.rebuilt = {"at": self.clock(), "quarantined": kept.name,
                        "error": f"{type(exc).__name__}: {exc}"[:300], "adopted": 0}
        log.error("outbox: the queue database is damaged (%s); set aside as %s, rebuilding "
                  "from the photos on disk", self.rebuilt["error"], kept.name)
        return None

    def _finish_rebuild(self) -> None:
        """Adopt every photo on disk into the fresh database and tell the operator."""
        self.recover()
        with self._lock:  # counted, not "adopted by me": an opener at the same time helps
            queued = int(self._db.execute("SELECT COUNT(*) FROM items").fetchone()[0])
        info = dict(self.rebuilt or {}, adopted=queued)
        self.rebuilt = info
        with self._tx() as db:
            self._set_stat(db, "rebuilt", info)
        log.warning("outbox: %s", notices.operator_line("outbox_rebuilt", **info))

    @classmethod
    def open_default(cls, state_dir: Path | None, settings: Any,
                     reader: bool = False) -> Outbox:
        """The booth's outbox: ``<state dir>/outbox/outbox.db`` with the configured policy.

        ``settings`` are the program's parsed settings; ``state_dir`` None: theirs.
        """
        from kiosk.wiring import state_dir as booth_state_dir

        base = Path(state_dir) if state_dir else booth_state_dir(settings)
        return cls(base / "outbox" / "outbox.db", OutboxPolicy.from_settings(settings),
                   reader=reader)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- plumbing --------------------------------------------------------
    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with the write lock up front (BEGIN IMMEDIATE)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _bump(self, db: sqlite3.Connection, name: str, by: int = 1) -> None:
        db.execute(
            "INSERT INTO stats(name, value) VALUES(?, ?) ON CONFLICT(name) DO UPDATE "
            "SET value = CAST(CAST(value AS INTEGER) + ? AS TEXT)",
            (name, str(by), by),
        )

    def _set_stat(self, db: sqlite3.Connection, name: str, value: Any) -> None:
        db.execute(
            "INSERT INTO stats(name, value) VALUES(?, ?) ON CONFLICT(name) DO UPDATE "
            "SET value = excluded.value",
            (name, json.dumps(value, ensure_ascii=False)),
        )

    def photo_path(self, item_id: int) -> Path | None:
        """The queued JPEG of an item (None if the item is unknown)."""
        with self._lock:
            row = self._db.execute("SELECT photo FROM items WHERE id = ?", (item_id,)).fetchone()
        return self._files(row["photo"])[0] if row else None

    def _files(self, stem: str) -> tuple[Path, Path]:
        return self.photos / f"{stem}.jpg", self.photos / f"{stem}.json"

    # -- enqueue ---------------------------------------------------------
    def enqueue(
        self,
        collection_code: str,
        jpeg: bytes,
        idempotency_key: str,
        meta: dict[str, Any] | None = None,
        upload_ticket: str | None = None,
    ) -> int:
        """Store the photo durably and queue it; returns the item id.

        ``upload_ticket`` (from identify) is kept in the row and the sidecar and
        sent with the upload, so the center takes the photo even after the
        student's session ended (center/grants.py).

        The same ``idempotency_key`` with the same photo returns the existing
        id (a double tap on "submit" queues once); with a different photo it
        is refused. A full disk raises ``OutboxFull`` and leaves what was
        queued before untouched.
        """
        if not collection_code or not isinstance(collection_code, str):
            raise OutboxError("outbox_bad_item", "empty collection code")
        if not isinstance(jpeg, bytes | bytearray) or not bytes(jpeg[:2]) == b"\xff\xd8":
            raise OutboxError("outbox_bad_item", "photo is not a JPEG")
        if not _KEY_RE.match(idempotency_key or ""):
            raise OutboxError("outbox_bad_item", "idempotency key must be 8-100 of [A-Za-z0-9._:-]")
        jpeg = bytes(jpeg)
        digest = hashlib.sha256(jpeg).hexdigest()
        existing = self._by_key(idempotency_key)
        if existing is not None:
            return self._same_or_conflict(existing, digest)
        if not self.restore_reserve():  # the room kept for uploading is not for new photos
            log.error("outbox: cannot store photo for %s: disk full", code_ref(collection_code))
            raise disk_full_error(self.dir, "the upload reserve is in use")
        stem = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
        jpg, side = self._files(stem)
        now = self.clock()
        sidecar = {
            "v": 1,
            "idempotency_key": idempotency_key,
            "collection_code": collection_code,
            "sha256": digest,
            "size": len(jpeg),
            "meta": meta or {},
            "created_at": now,
            "upload_ticket": upload_ticket,
        }
        try:
            write_durable(jpg, jpeg, mode=0o600)
            write_durable(side, json.dumps(sidecar, ensure_ascii=False).encode(), mode=0o600)
            item_id = self._insert(sidecar, stem)
        except (OSError, sqlite3.OperationalError) as exc:
            if self._by_key(idempotency_key) is None:  # not adopted by a concurrent recover
                for f in (side, jpg):
                    with contextlib.suppress(OSError):
                        f.unlink(missing_ok=True)
            if _is_full(exc):
                log.error("outbox: cannot store photo for %s: %s", code_ref(collection_code), exc)
                raise OutboxFull(f"{type(exc).__name__}: {exc}") from None
            raise
        log.info("outbox: queued item %d for %s (%d bytes)", item_id, code_ref(collection_code),
                 len(jpeg))
        wake.notify(self.wake_dir)
        return item_id

    def _by_key(self, key: str) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._db.execute(
                "SELECT id, sha256 FROM items WHERE idem_key = ?", (key,)
            ).fetchone()
            return row

    def _same_or_conflict(self, row: sqlite3.Row, digest: str) -> int:
        if row["sha256"] != digest:
            raise OutboxError(
                "outbox_key_conflict",
                f"idempotency key already used for another photo (item {row['id']})",
            )
        return int(row["id"])

    def _insert(self, side: dict[str, Any], stem: str,
                then: Callable[[sqlite3.Connection, dict[str, Any]], None] | None = None) -> int:
        with self._tx() as db:
            db.execute(
                "INSERT INTO items(idem_key, collection_code, photo, sha256, size, meta, "
                "created_at, next_attempt_at, upload_ticket) VALUES(?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT(idem_key) DO NOTHING",
                (
                    side["idempotency_key"],
                    side["collection_code"],
                    stem,
                    side["sha256"],
                    side["size"],
                    json.dumps(side.get("meta") or {}, ensure_ascii=False),
                    side["created_at"],
                    side["created_at"],
                    side.get("upload_ticket"),
                ),
            )
            row = db.execute(
                "SELECT id FROM items WHERE idem_key = ?", (side["idempotency_key"],)
            ).fetchone()
            if then is not None:
                then(db, side)
            self._bump(db, "enqueued")
        return int(row["id"])

    # -- recovery --------------------------------------------------------
    def recover(self) -> dict[str, int]:
        """Adopt sidecars whose row never committed; remove stale lone or temp files."""
        adopted = removed = 0
        now = time.time()
        with self._lock:
            stems = {r[0] for r in self._db.execute("SELECT photo FROM items")}
        try:
            entries = list(os.scandir(self.photos))
        except FileNotFoundError:
            return {"adopted": 0, "removed": 0}
        names = {e.name for e in entries}
        for entry in entries:  # first adopt, so the second pass cannot remove an adoptee
            stem, _, ext = entry.name.rpartition(".")
            if (ext == "json" and not entry.name.startswith(".") and stem not in stems
                    and f"{stem}.jpg" in names and self._adopt(Path(entry.path), stem)):
                adopted += 1
                stems.add(stem)
        for entry in entries:
            stem = entry.name.rpartition(".")[0]
            if stem in stems and not entry.name.startswith("."):
                continue
            try:
                age = now - entry.stat().st_mtime
            except FileNotFoundError:
                continue
            if age > self.policy.orphan_grace_s:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed += 1
                    log.warning("outbox: removed incomplete file %s", entry.name)
        if adopted:
            log.warning("outbox: adopted %d photo(s) whose queue entry was cut off", adopted)
        return {"adopted": adopted, "removed": removed}

    def _adopt(self, side_path: Path, stem: str) -> bool:
        try:
            side = json.loads(side_path.read_text(encoding="utf-8"))
            data = (self.photos / f"{stem}.jpg").read_bytes()
        except (OSError, ValueError):
            return False
        if hashlib.sha256(data).hexdigest() != side.get("sha256"):
            return False
        try:
            self._insert(side, stem, then=repair.carry_over)
        except (sqlite3.DatabaseError, KeyError) as exc:
            log.error("outbox: cannot adopt %s: %s", stem, exc)
            if _is_full(exc):
                raise
            return False
        return True

    # -- draining --------------------------------------------------------
    @_roomy
    def _claim(self) -> sqlite3.Row | None:
        now = self.clock()
        p = self.policy
        with self._tx() as db:
            rows = db.execute(
                "SELECT * FROM items WHERE state = 'pending' AND "
                "(next_attempt_at <= ? OR next_attempt_at > ?) "
                "ORDER BY next_attempt_at, id LIMIT 32",
                (now, now + p.backoff_max_s + 1.0),  # a far-future time means the clock jumped
            ).fetchall()
            for row in rows:
                owner, until = row["lease_owner"], row["lease_until"]
                held = owner and until is not None and now < until <= now + p.lease_s + 1.0
                if held and not _owner_dead(owner):
                    continue
                db.execute(
                    "UPDATE items SET lease_owner = ?, lease_until = ?, attempts = attempts + 1 "
                    "WHERE id = ?",
                    (self.owner, now + p.lease_s, row["id"]),
                )
                if owner:
                    log.info("outbox: took over item %d from %s", row["id"], owner)
                taken: sqlite3.Row | None = db.execute(
                    "SELECT * FROM items WHERE id = ?", (row["id"],)
                ).fetchone()
                return taken
        return None

    @_roomy
    def _finish(
        self, item_id: int, sql: str, params: tuple[Any, ...], stat: str, error: Any = None
    ) -> None:
        with self._tx() as db:
            db.execute(
                f"UPDATE items SET {sql}, lease_owner = NULL, lease_until = NULL "
                "WHERE id = ? AND lease_owner = ?",
                (*params, item_id, self.owner),
            )
            self._bump(db, stat)
            if error is not None:
                self._set_stat(db, "last_error", error)
            elif stat == "uploaded":
                self._set_stat(db, "last_success_at", self.clock())

    def _fail(self, row: sqlite3.Row, exc: KioskError, permanent: bool, status: int = 0) -> str:
        now = self.clock()
        err = {
            "code": exc.code,
            "zh": exc.zh,
            "en": exc.en,
            "detail": exc.detail,
            "status": status,
            "extra": getattr(exc, "extra", {}) or {},
            "at": now,
            "item": int(row["id"]),
        }
        text = json.dumps(err, ensure_ascii=False, default=str)
        if permanent:
            self._finish(
                row["id"],
                "state = 'parked', last_error_code = ?, last_error = ?, last_error_at = ?",
                (exc.code, text, now),
                "parked",
                err,
            )
            log.warning("outbox: item %d for %s parked: %s", row["id"],
                        code_ref(row["collection_code"]), exc.code)
            return "parked"
        delay = self.policy.backoff(int(row["attempts"]))
        self._finish(
            row["id"],
            "next_attempt_at = ?, last_error_code = ?, last_error = ?, last_error_at = ?",
            (now + delay, exc.code, text, now),
            "retried",
            err,
        )
        log.info("outbox: item %d for %s retry in %.1f s (%s)", row["id"],
                 code_ref(row["collection_code"]), delay, exc.code)
        return "retried"

    def upload_one(self, client: Any) -> tuple[str, int, dict[str, Any] | None] | None:
        """Claim one due item and send it; ``(outcome, id, answer)`` or None if none is due.

        ``outcome`` is ``uploaded``, ``retried`` (unreachable/retryable) or ``parked``.
        """
        row = self._claim()
        if row is None:
            return None
        item_id = int(row["id"])
        jpg, _ = self._files(row["photo"])
        try:
            data = jpg.read_bytes()
        except OSError as exc:
            err = KioskError("local_missing", *notices.words("local_missing"),
                             f"{jpg.name}: {exc.strerror}")
            return self._fail(row, err, permanent=True), item_id, None
        if hashlib.sha256(data).hexdigest() != row["sha256"]:
            err = KioskError("local_corrupt", *notices.words("local_corrupt"),
                             f"{jpg.name}: checksum mismatch")
            return self._fail(row, err, permanent=True), item_id, None
        try:
            ticket = row["upload_ticket"]
            answer = client.upload(row["collection_code"], data, row["idem_key"],
                                   **({"ticket": ticket} if ticket else {}))
        except CenterUnreachable as exc:
            return self._fail(row, exc, permanent=False), item_id, None
        except CenterRefused as exc:
            return self._fail(row, exc, permanent=not exc.retryable, status=exc.status), item_id, None
        except Exception as exc:  # a bug must not lose the photo or stop the queue
            log.exception("outbox: unexpected error uploading item %d", item_id)
            err = KioskError("upload_error", *notices.words("upload_error"), f"{type(exc).__name__}: {exc}")
            return self._fail(row, err, permanent=False), item_id, None
        self._finish(
            item_id,
            "state = 'acked', acked_at = ?, answer = ?, last_error_code = NULL",
            (self.clock(), json.dumps(answer, ensure_ascii=False, default=str)),
            "uploaded",
        )
        log.info("outbox: item %d for %s acknowledged", item_id, code_ref(row["collection_code"]))
        return "uploaded", item_id, answer

    def drain_once(
        self,
        client: CenterApi,
        max_items: int | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> DrainResult:
        """Upload every item that is due now (each at most once).

        Stops at the first retryable failure (``result.unreachable``): the rest
        wait for their own back-off, hammering a dead center with the whole
        queue helps nobody.
        """
        result = DrainResult()
        seen: set[int] = set()
        while max_items is None or result.attempted < max_items:
            if should_stop and should_stop():
                break
            out = self.upload_one(client)
            if out is None:
                break
            outcome, item_id, answer = out
            if item_id in seen:  # came due again within this pass (tiny back-off)
                break
            seen.add(item_id)
            if outcome == "uploaded":
                result.uploaded += 1
                result.answers[item_id] = answer or {}
            elif outcome == "parked":
                result.parked += 1
            else:
                # Unreachable, overloaded or refusing this device: the center, not the
                # photo, is the problem, so the others wait for their own back-off.
                result.retried += 1
                result.unreachable = True
                break
        return result

    # -- operator actions ------------------------------------------------
    @_roomy
    def retry_parked(self, ids: list[int] | None = None) -> int:
        """Put parked items back in the queue (after the operator fixed the cause)."""
        now = self.clock()
        with self._tx() as db:
            if ids:
                marks = ",".join("?" * len(ids))
                cur = db.execute(
                    f"UPDATE items SET state='pending', attempts=0, next_attempt_at=? "
                    f"WHERE state='parked' AND id IN ({marks})",
                    (now, *ids),
                )
            else:
                cur = db.execute(
                    "UPDATE items SET state='pending', attempts=0, next_attempt_at=? "
                    "WHERE state='parked'",
                    (now,),
                )
            n = cur.rowcount
        if n:
            log.info("outbox: %d parked item(s) re-queued", n)
            wake.notify(self.wake_dir)
        return n

    @_roomy
    def retry_now(self) -> int:
        """Make every waiting item due now (operator: "the center is back, send it")."""
        with self._tx() as db:
            n = db.execute(
                "UPDATE items SET next_attempt_at=? WHERE state='pending'", (self.clock(),)
            ).rowcount
        wake.notify(self.wake_dir)
        return n

    def purge(self, now: bool = False) -> int:
        """Delete local copies acknowledged longer ago than the retention time.

        ``now``: every acknowledged copy, whatever its age -- on a full disk the
        center's copy is worth more than the booth's spare one.
        """
        cutoff = self.clock() - (0.0 if now else self.policy.retention_after_ack_s)
        with self._lock:
            rows = self._db.execute(
                "SELECT id, photo FROM items WHERE state='acked' AND acked_at <= ?", (cutoff,)
            ).fetchall()
        for row in rows:  # files first: unlinking needs no space, and frees it for the rows
            for f in self._files(row["photo"]):
                f.unlink(missing_ok=True)
        for row in rows:
            self._forget(int(row["id"]))
        if rows:
            log.info("outbox: removed %d acknowledged local copies", len(rows))
        return len(rows)

    @_roomy
    def _forget(self, item_id: int) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM items WHERE id = ? AND state='acked'", (item_id,))
            self._bump(db, "purged")

    # -- reading ---------------------------------------------------------
    def depth(self) -> int:
        """Photos not yet acknowledged by the center (waiting, in flight or parked)."""
        with self._lock:
            return int(self._db.execute(
                "SELECT COUNT(*) FROM items WHERE state IN ('pending','parked')"
            ).fetchone()[0])

    def next_due_in(self) -> float | None:
        """Seconds until some pending item may be tried (0 if now), None if none pending."""
        now = self.clock()
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(CASE WHEN lease_until IS NOT NULL AND lease_until > next_attempt_at "
                "THEN lease_until ELSE next_attempt_at END) FROM items WHERE state='pending'"
            ).fetchone()
        if row[0] is None:
            return None
        return max(0.0, min(float(row[0]) - now, self.policy.backoff_max_s))

    def item(self, item_id: int) -> dict[str, Any] | None:
        """One item for the operator: no collection code, only its reference."""
        with self._lock:
            row = self._db.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
        return self._public(row) if row else None

    def _public(self, row: sqlite3.Row) -> dict[str, Any]:
        def loads(text: str | None) -> Any:
            try:
                return json.loads(text) if text else None
            except ValueError:
                return None

        return {
            "id": int(row["id"]),
            "code_ref": code_ref(row["collection_code"]),
            "state": row["state"],
            "attempts": int(row["attempts"]),
            "created_at": row["created_at"],
            "next_attempt_at": row["next_attempt_at"] if row["state"] == "pending" else None,
            "in_flight": bool(row["lease_owner"]) and (row["lease_until"] or 0) > self.clock(),
            "last_error": loads(row["last_error"]),
            "acked_at": row["acked_at"],
            "answer": loads(row["answer"]),
            "size": int(row["size"]),
        }

    def items(self, states: tuple[str, ...] = ("pending", "parked", "acked")) -> list[dict[str, Any]]:
        marks = ",".join("?" * len(states))
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM items WHERE state IN ({marks}) ORDER BY id", states
            ).fetchall()
        return [self._public(r) for r in rows]

    def status(self) -> dict[str, Any]:
        """The backlog for the operator screen, ``kiosk outbox status`` and ``kiosk doctor``."""
        now = self.clock()
        with self._lock:
            counts = dict(
                self._db.execute("SELECT state, COUNT(*) FROM items GROUP BY state").fetchall()
            )
            oldest = self._db.execute(
                "SELECT MIN(created_at) FROM items WHERE state IN ('pending','parked')"
            ).fetchone()[0]
            in_flight = self._db.execute(
                "SELECT COUNT(*) FROM items WHERE state='pending' AND lease_until > ?", (now,)
            ).fetchone()[0]
            stats = dict(self._db.execute("SELECT name, value FROM stats").fetchall())
            parked = self._db.execute(
                "SELECT * FROM items WHERE state='parked' ORDER BY id"
            ).fetchall()

        def stat(name: str) -> Any:
            try:
                return json.loads(stats[name]) if name in stats else None
            except ValueError:
                return None

        return {
            "pending": int(counts.get("pending", 0)),
            "in_flight": int(in_flight),
            "parked": int(counts.get("parked", 0)),
            "acked_kept": int(counts.get("acked", 0)),
            "depth": int(counts.get("pending", 0)) + int(counts.get("parked", 0)),
            "oldest_age_s": round(now - oldest, 1) if oldest is not None else None,
            "next_attempt_in_s": self.next_due_in(),
            "last_error": stat("last_error"),
            "last_success_at": stat("last_success_at"),
            "counters": {k: int(stat(k) or 0)
                         for k in ("enqueued", "uploaded", "retried", "parked", "purged")},
            "parked_items": [self._public(r) for r in parked],
            "rebuilt": stat("rebuilt"),
            "damaged_copies": [p.name for p in repair.damaged_copies(self.path)],
            "read_only": self.read_only,
            "disk_free_kb": (free // 1024 if (free := repair.free_bytes(self.dir)) is not None
                             else None),
            "disk_full": self.short_of_room(),
        }
