"""The running center's shared parts: database, keys, limits and background workers."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from typing import Any

from sqlalchemy import bindparam, select, update

from center import grants, jobs
from center import schema as t
from center.checks import CheckRunner
from center.db import Database, Precompiled
from center.identify import Limits, purge_limits
from center.keys import KEY_FILE, load_or_create_signing_key, public_key_b64
from center.mailer import Mailer
from center.secret_files import agree_with_peers, load_or_create, prepare_dir, refuse_if_missing
from center.security import hash_token, split_token, verify_token
from center.settings import CenterSettings
from center.storage import open_store

log = logging.getLogger("center")

# every API call: the kiosk's row by the id its token names
_KIOSK = Precompiled(
    select(t.kiosks.c.id, t.kiosks.c.name, t.kiosks.c.token_hash, t.kiosks.c.disabled).where(
        t.kiosks.c.id == bindparam("id")
    )
)


def protect_data_dir(settings: CenterSettings) -> None:
    """The data directory 0700 and an SQLite ``center.db`` 0600 before SQLite opens it.

    The database holds names and last-4 digits: nobody but the center's user
    may read it. SQLite gives its -wal and -shm files the database's mode.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(PermissionError):
        os.chmod(settings.data_dir, 0o700)
    settings.photos_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    url = settings.db_url
    if url.startswith("sqlite") and ":memory:" not in url:
        path = url.split(":///", 1)[-1]
        if path:
            # O_EXCL: never open (and close) a database file SQLite may already use
            # in this process -- closing any descriptor of it drops SQLite's locks.
            with contextlib.suppress(FileExistsError):
                os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError, PermissionError):
                    os.chmod(path + suffix, 0o600)


def make_check_runner(
    settings: CenterSettings, db: Database, store: Any, in_serving_process: bool
) -> CheckRunner:
    """The compliance-check runner of this process (center/checks.py, center/jobs.py).

    SQLite: the serving process is the one runner. PostgreSQL: the serving
    process runs checks unless ``upload.check_in_process`` is off, and any
    number of ``kiosk center worker`` processes may run beside it.
    """
    up = settings.get("upload")
    sole = db.is_sqlite
    workers = int(up.get("check_workers", 1))
    if in_serving_process and not sole and not bool(up.get("check_in_process", True)):
        workers = 0
    queue = jobs.JobQueue(
        db,
        lease_seconds=float(up.get("check_lease_seconds", 120)),
        max_attempts=int(up.get("check_max_attempts", 3)),
    )
    return CheckRunner(
        db,
        store,
        workers,
        queue,
        quiet_seconds=float(up.get("check_quiet_seconds", 0.5)) if in_serving_process else 0.0,
        max_defer_seconds=float(up.get("check_max_defer_seconds", 30)),
        face_threshold=float(settings.get("review.face_change_threshold", 0.04)),
        poll_seconds=float(up.get("check_poll_seconds", 2.0)),
        sole_runner=sole,
        spec_name=str(settings.get("upload.spec")),
    )


class Center:
    def __init__(self, settings: CenterSettings, migrate: bool = True) -> None:
        self.settings = settings
        protect_data_dir(settings)
        # a pooled connection for every API thread and the background threads
        # (checker, sweeper, mailer): with fewer, each request past the pool's
        # size opened and closed its own PostgreSQL session (a server fork and a
        # sign-in; `kiosk bench center` counted 0.5-0.7 sessions per upload at 12
        # threads with a pool of 6)
        self.db = Database(settings.db_url, pool_size=int(settings.get("api_threads", 60)) + 4)
        if migrate:
            self.db.migrate()
        secrets_dir = prepare_dir(settings.secrets_dir)
        files = {
            "poster_signing_key": KEY_FILE,
            "download_link": "download_link.key",
            "console_session": "console_session.key",
        }
        # hosts sharing this database share these: copied, never made anew per host
        refuse_if_missing(self.db, secrets_dir, files)
        self.signing_key = load_or_create_signing_key(secrets_dir, legacy_dir=settings.data_dir)
        self.public_keys = [public_key_b64(self.signing_key)]
        self.link_secret = load_or_create(secrets_dir, "download_link", self.db)
        self.session_secret = load_or_create(secrets_dir, "console_session", self.db)
        values = (self.signing_key, self.link_secret, self.session_secret)
        agree_with_peers(
            self.db,
            secrets_dir,
            {name: (files[name], value) for name, value in zip(files, values, strict=True)},
        )
        self.limits = Limits.from_conf(settings.get("identify"))
        self.session_ttl = 60 * float(settings.get("grants.session_minutes", 30))
        self.ticket_ttl = 3600 * float(settings.get("grants.upload_ticket_hours", 72))
        self._next_sweep = 0.0
        self._sweep_lock = threading.Lock()
        self.store = open_store(settings, self.db)  # photo bytes (center/storage)
        self.mailer = Mailer(self.db, self.store, settings.get("smtp"))
        self.checks = make_check_runner(settings, self.db, self.store, in_serving_process=True)
        # versions get a check job unless checks are off (in this process or a worker)
        self.check_queued = int(settings.get("upload.check_workers", 1)) > 0

    def start(self) -> None:
        self.db.start_checkpointer()
        self.mailer.start()
        self.checks.start()

    def stop(self) -> None:
        self.mailer.stop()
        self.checks.stop()
        self.db.stop_checkpointer()

    def close(self) -> None:
        self.store.close()
        self.db.dispose()

    def authenticate(self, token: str) -> tuple[int, str] | None:
        """(kiosk id, name) for a valid, enabled device token.

        Checked against the kiosk's row on every call (one primary-key read and
        a SHA-256): no cache, so ``kiosk disable`` and ``rotate-token`` act at
        once in every process, and nothing is counted per claimed kiosk id, so
        forged tokens cannot lock the real kiosk out.
        """
        parts = split_token(token)
        if parts is None or parts[0] > 2**62:
            return None
        with self.db.lookup() as conn:
            row = _KIOSK.first(conn, id=parts[0])
        if row is None or row.disabled or not verify_token(token, row.token_hash):
            return None
        if not row.token_hash.startswith("sha256$"):  # an old scrypt hash: upgrade it
            with self.db.write() as conn:
                conn.execute(
                    update(t.kiosks)
                    .where(t.kiosks.c.id == row.id, t.kiosks.c.token_hash == row.token_hash)
                    .values(token_hash=hash_token(token))
                )
        return row.id, row.name

    def sweep_maybe(self, interval: float = 60.0) -> None:
        """Purge expired grants, idle limit rows and console sessions, once a minute.

        Called from request handlers (no extra thread); bounds every table a
        caller can make grow.
        """
        now = time.time()
        if now < self._next_sweep or not self._sweep_lock.acquire(blocking=False):
            return
        try:
            self._next_sweep = now + interval
            from center.console.session import purge_sessions

            with self.db.write() as conn:
                grants.purge(conn, now)
                purge_limits(conn, self.limits, now)
                purge_sessions(conn, now)
                jobs.purge_done(conn, now)
        except Exception as exc:  # noqa: BLE001 - housekeeping must not fail a request
            log.warning("sweep failed: %s", type(exc).__name__)
        finally:
            self._sweep_lock.release()

    def conf(self, dotted: str, default: Any = None) -> Any:
        return self.settings.get(dotted, default)
