"""The database handle: engine, write transactions and migrations.

SQLite (the booth default) allows one writer at a time. Its busy handler sleeps
in growing steps while it waits, which wrecks tail latency under load, so the
writers of one process queue on a lock instead and the database file is used
by a single server process. PostgreSQL needs no such lock.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql.expression import ClauseElement

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
    def lookup(self) -> Iterator[Connection]:
        """A connection for single-statement reads on the request path.

        PostgreSQL runs them in autocommit mode: one round trip a statement,
        instead of BEGIN, the statement and ROLLBACK (``read()``). Only for
        reads that need no snapshot across statements; under READ COMMITTED
        each statement sees the latest commits either way. SQLite reads
        outside a transaction already (its connections run without implicit
        BEGIN), so nothing changes there.
        """
        with self.engine.connect() as conn:
            if self.is_sqlite:
                yield conn
                return
            raw = conn.connection.dbapi_connection
            raw.autocommit = True  # type: ignore[union-attr]  # psycopg: no round trip
            try:
                yield conn
            finally:
                try:
                    raw.autocommit = False  # type: ignore[union-attr]
                except Exception:  # noqa: BLE001 - a broken connection: never pool it
                    conn.invalidate()

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


class Precompiled:
    """A Core statement compiled once per dialect and run on the DB-API cursor.

    Why: for a one-row statement SQLAlchemy's per-execution work (building
    the statement, its cache key, the execution context and result
    metadata, pool events) costs 100-250 µs of CPU, the database call
    itself about 25 µs; an upload runs eight of them. Here the statement is
    written in Core as everywhere else, compiled on first use, and later
    executions hand the SQL text and parameters straight to the driver (on
    PostgreSQL psycopg then prepares it on the server).

    Limits: parameters and result columns must need no type conversion
    (integers, floats, strings, bytes, None: every column of the request
    path); results are tuples with attribute access and ``_mapping`` (like
    SQLAlchemy rows), booleans come back from SQLite as 0/1. A driver error
    goes through SQLAlchemy's own handler, so callers see the same
    ``IntegrityError``/``DBAPIError`` and a dropped connection invalidates
    the pool as with ``Connection.execute``.
    """

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        # dialect name -> (SQL, parameter names in order or None, default values)
        self._sql: dict[str, tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}
        self._row: type | None = None

    def _compiled(self, dialect: Dialect) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
        found = self._sql.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            names = getattr(compiled, "positiontup", None) or ()
            order = tuple(names) if dialect.positional else None
            defaults = dict(compiled.params)
            if any(callable(v) for v in defaults.values()):  # a Python-side column default
                raise TypeError("Precompiled takes no column with a callable default")
            found = (str(compiled), order, defaults)
            self._sql[dialect.name] = found
        return found

    def _execute(self, conn: Connection, params: dict[str, Any]) -> Any:
        """Execute on ``conn``'s DB-API connection; the cursor holds the result.

        One cursor per DB-API connection, reused (kept in the pool's
        per-connection ``info``): callers read the result before the next
        statement on that connection, and no cursor object is made and
        registered with the driver for every statement.
        """
        sql, order, defaults = self._compiled(conn.dialect)
        values = {**defaults, **params} if defaults else params
        args: Any = values if order is None else tuple(values[name] for name in order)
        fairy = conn.connection
        cur = fairy.info.get(_CURSOR)
        if cur is None or cur.connection is not fairy.dbapi_connection:
            cur = fairy.info[_CURSOR] = fairy.cursor()
        try:
            cur.execute(sql, args)
        except conn.dialect.loaded_dbapi.Error as exc:
            fairy.info.pop(_CURSOR, None)
            # SQLAlchemy's own handling: the matching sqlalchemy.exc class, and on
            # a lost connection this one invalidated and the pool recycled
            conn._handle_dbapi_exception(exc, sql, args, cur, None)
        return cur

    def _row_type(self, cur: Any) -> type:
        if self._row is None:
            names = [d[0] for d in cur.description]
            base = namedtuple("CompiledRow", names, rename=True)  # type: ignore[misc]
            self._row = type(
                "CompiledRow", (base,), {"__slots__": (), "_mapping": property(base._asdict)}
            )
        return self._row

    # Results are read to the end (``fetchall``): these statements return a row
    # or a few, and SQLite keeps a read snapshot (or a RETURNING insert) open
    # until its statement has run to the end.

    def first(self, conn: Connection, **params: Any) -> Any:
        """The first row (attribute access, ``_mapping``), or None."""
        cur = self._execute(conn, params)
        rows = cur.fetchall()
        return self._row_type(cur)(*rows[0]) if rows else None

    def scalar(self, conn: Connection, **params: Any) -> Any:
        """The first column of the first row, or None."""
        rows = self._execute(conn, params).fetchall()
        return rows[0][0] if rows else None

    def run(self, conn: Connection, **params: Any) -> int:
        """Execute; the number of rows it changed."""
        return int(self._execute(conn, params).rowcount)


_CURSOR = "center.db.Precompiled.cursor"


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
