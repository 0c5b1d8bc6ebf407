"""The database handle: engine, write transactions and migrations.

SQLite (the booth default) allows one writer at a time. Its busy handler sleeps
in growing steps while it waits, which wrecks tail latency under load, so the
writers of one process queue on a lock instead and the database file is used
by a single server process. PostgreSQL needs no such lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def sqlite_url(path: Path) -> str:
    return f"sqlite+pysqlite:///{path}"


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Database:
    """One engine per process; ``read()`` and ``write()`` hand out connections."""

    def __init__(self, url: str, pool_size: int = 20) -> None:
        self.url = normalize_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self._write_lock = threading.Lock() if self.is_sqlite else None
        self._checkpointer: threading.Thread | None = None
        self._stop_checkpoints = threading.Event()
        if self.is_sqlite:
            self.engine: Engine = create_engine(
                self.url,
                poolclass=QueuePool,
                pool_size=pool_size,
                max_overflow=20,
                connect_args={"check_same_thread": False, "timeout": 30},
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
            with self.engine.connect() as conn:  # persistent in the file: set once
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            # pysqlite's own transaction handling defers BEGIN; take control of it.
            event.listen(self.engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        else:
            # No pre-ping (a round trip per checkout): a connection found dead is
            # discarded with the pool on the failing call, and the kiosk retries.
            self.engine = create_engine(
                self.url, pool_size=pool_size, max_overflow=20, pool_recycle=3600
            )

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn
            conn.rollback()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that commits on success; serialized per process on SQLite."""
        if self._write_lock is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    def migrate(self) -> None:
        """Bring the schema to the newest revision (alembic, run in-process)."""
        import logging

        from alembic import command
        from alembic.config import Config

        logging.getLogger("alembic").setLevel(logging.WARNING)

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def start_checkpointer(self, interval: float = 1.0) -> None:
        """SQLite: move WAL checkpoints off the commit path.

        With automatic checkpoints, the commit that crosses the threshold copies
        the WAL into the database and fsyncs it while holding the write lock, and
        every upload queued behind it waits. Here a thread runs PASSIVE
        checkpoints (which never block writers) every ``interval`` seconds and
        connections open with ``wal_autocheckpoint=0``.
        """
        if not self.is_sqlite or self._checkpointer is not None:
            return
        self._stop_checkpoints.clear()

        def loop() -> None:
            while not self._stop_checkpoints.wait(interval):
                try:
                    with self.engine.connect() as conn:
                        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
                        conn.rollback()
                except Exception:  # noqa: BLE001 - try again next tick
                    pass

        self._checkpointer = threading.Thread(target=loop, name="center-checkpoint", daemon=True)
        self._checkpointer.start()

    def stop_checkpointer(self) -> None:
        if self._checkpointer is not None:
            self._stop_checkpoints.set()
            self._checkpointer.join(timeout=5)
            self._checkpointer = None
            with self.engine.connect() as conn:  # leave a small WAL behind
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
                conn.rollback()

    def dispose(self) -> None:
        self.stop_checkpointer()
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:  # DB-API objects
    # pysqlite: disable its implicit BEGIN so the "begin" listener above rules.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    # FULL: a photo acknowledged to a kiosk survives a power cut (the kiosk then
    # deletes its copy). fsync is cheap next to the rest of an upload.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # checkpoints run in Database.start_checkpointer's thread, not inside commits
    cur.execute("PRAGMA wal_autocheckpoint=0")
    cur.close()
