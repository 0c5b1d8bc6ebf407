"""The upload path's database shortcuts (center/db.py) on real SQLite and PostgreSQL.

``Precompiled`` runs Core statements on the driver's cursor and ``lookup()``
reads in autocommit on PostgreSQL. What must not change for their callers:
the rows, the exceptions SQLAlchemy would raise (the upload answers a
concurrent retry from an ``IntegrityError``; the app answers 503 on a
``DBAPIError`` and the pool is recycled after PostgreSQL drops a connection),
and transactions: a pooled connection never keeps autocommit after a lookup.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from center import orders
from center import schema as t
from center.db import Database, Precompiled

_LINES = Precompiled(
    select(t.audit_log.c.id, t.audit_log.c.actor, t.audit_log.c.action, t.audit_log.c.detail)
    .where(t.audit_log.c.order_no == bindparam("order_no"))
    .order_by(t.audit_log.c.id)
)
_REMEMBER = Precompiled(
    insert(t.idempotency).values(
        key=bindparam("key"),
        kiosk_id=bindparam("kiosk_id"),
        fingerprint="f" * 64,
        status_code=201,
        response="{}",
        created_at=0.0,
    )
)


@pytest.fixture
def db(db_url: str) -> Database:
    database = Database(db_url, pool_size=1)
    database.migrate()
    with database.write() as conn:
        conn.execute(insert(t.kiosks).values(id=7, name="k7", token_hash="x", created_at=0.0))
    yield database
    database.dispose()


def _audit_count(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t.audit_log)).scalar_one())


def test_rows_are_those_sqlalchemy_reads(db):
    with db.write() as conn:
        orders.audit(conn, "kiosk:a", "upload", "261202000000000001", "version 1")
        orders.audit(conn, "kiosk:b", "withdraw", "261202000000000001", "version 1")
    with db.lookup() as conn:
        fast = [_LINES.first(conn, order_no="261202000000000001")]
        missing = _LINES.first(conn, order_no="nothing")
        count = Precompiled(select(func.count()).select_from(t.audit_log)).scalar(conn)
    with db.read() as conn:
        slow = conn.execute(_LINES.statement, {"order_no": "261202000000000001"}).first()
    assert missing is None and count == 2
    assert tuple(fast[0]) == tuple(slow)
    assert fast[0].actor == "kiosk:a" and fast[0]._mapping == dict(slow._mapping)


def test_a_duplicate_key_is_sqlalchemys_integrity_error_and_rolls_back(db):
    with db.write() as conn:
        _REMEMBER.run(conn, key="k-1", kiosk_id=7)
    with pytest.raises(IntegrityError):
        with db.write() as conn:
            orders.audit(conn, "kiosk:k7", "upload", None, "first")
            _REMEMBER.run(conn, key="k-1", kiosk_id=7)
    assert _audit_count(db) == 0  # the whole transaction went
    with db.write() as conn:  # and the pooled connection works on
        _REMEMBER.run(conn, key="k-2", kiosk_id=7)


def test_a_lookup_leaves_no_autocommit_on_the_pooled_connection(db):
    with db.lookup() as conn:
        assert _LINES.first(conn, order_no="x") is None
    with pytest.raises(RuntimeError):
        with db.write() as conn:  # the same (only) pooled connection
            orders.audit(conn, "kiosk:k7", "upload", None, "never")
            raise RuntimeError("the request failed after the insert")
    assert _audit_count(db) == 0


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_dropped_postgres_connection_is_a_dbapi_error_then_the_pool_recovers(
    db, db_url: str, tmp_path: Path
):
    pid = Precompiled(select(func.pg_backend_pid()))
    with db.lookup() as conn:
        backend = pid.scalar(conn)
    other = Database(db_url, pool_size=1)
    try:
        with other.lookup() as conn:  # e.g. PostgreSQL restarted under the center
            Precompiled(select(func.pg_terminate_backend(bindparam("p")))).scalar(conn, p=backend)
    finally:
        other.dispose()
    with pytest.raises(DBAPIError) as caught:
        with db.lookup() as conn:
            pid.scalar(conn)
    assert caught.value.connection_invalidated  # the app answers 503, the kiosk retries
    with db.lookup() as conn:
        assert pid.scalar(conn) != backend  # a new connection, not the dead one
