"""The compliance-check queue: ``check_jobs`` rows, claimed for a lease.

Why a table and not a queue inside the serving process: the check costs
hundreds of CPU milliseconds per photo, and a province's center runs its API
on several hosts. Any number of ``kiosk center worker`` processes, on any
host, claim jobs from the one database:

- PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` hands each row to one
  claimer without waiting on the others; SQLite (one process, writes
  serialized by ``Database.write``) runs the same statements without it;
- a claim is a lease (``claimed_by``, ``lease_until``) that the claimer
  renews while the check runs; a worker killed mid-check stops renewing, and
  after ``lease_until`` another worker claims the job again (``attempts`` + 1);
- the result is written only while the claim is still the writer's own
  (``finish``: one transaction, fenced on ``claimed_by``), so a worker that
  lost its lease cannot write a second report: a version ends in exactly one
  checked state;
- a photo that kills its checker every time is not retried forever: after
  ``max_attempts`` claims the version is marked ``unavailable``;
- PostgreSQL: queuing a job sends ``NOTIFY kiosk_check_jobs`` (in the same
  statement as the insert, delivered when the upload commits); every worker
  LISTENs (``JobListener``) and claims at once, so a job waits for a worker's
  poll (``check_poll_seconds``) only when a notification was lost (listener
  reconnecting) or a lease ran out.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, literal, or_, select, update

from center import schema as t
from center.db import Database, Precompiled

QUEUED, RUNNING, DONE = "queued", "running", "done"
# version check states (photo_versions.check_state), shown by the console
V_QUEUED, V_RUNNING, V_DONE, V_UNAVAILABLE = "queued", "running", "done", "unavailable"
KEEP_DONE_SECONDS = 86400.0
CHANNEL = "kiosk_check_jobs"  # PostgreSQL NOTIFY channel: a job was queued

log = logging.getLogger("center.jobs")


@dataclass(frozen=True)
class Job:
    id: int
    version_id: int
    sha256: str
    prev_sha256: str | None  # the order's version before this one (retake comparison)
    queued_at: float | None = None  # when the upload queued it (the metrics' claim age)


def owner_id() -> str:
    """Who holds a claim: host, process and a random tag (pids repeat across hosts)."""
    return f"{socket.gethostname()[:60]}/{os.getpid()}/{uuid.uuid4().hex[:6]}"


_QUEUE_ROW = (
    insert(t.check_jobs)
    .values(
        version_id=bindparam("version_id"),
        state=QUEUED,
        attempts=0,
        created_at=bindparam("created_at"),
    )
    .inline()
)
# On every upload, so compiled once (center/db.py). PostgreSQL: the insert and
# ``pg_notify`` are one statement (a CTE), so waking the workers costs the upload
# no extra round trip; the notification leaves when the upload commits, and not
# at all if it rolls back.
_ENQUEUE = Precompiled(_QUEUE_ROW)
_ENQUEUE_NOTIFY = Precompiled(
    select(func.pg_notify(literal(CHANNEL), literal(""))).select_from(
        _QUEUE_ROW.returning(t.check_jobs.c.id).cte("queued")
    )
)


def enqueue(conn: Connection, version_id: int, now: float | None = None) -> None:
    """A job for a new version, inside the upload's own transaction."""
    created = time.time() if now is None else now
    if conn.dialect.name == "postgresql":
        _ENQUEUE_NOTIFY.first(conn, version_id=version_id, created_at=created)
    else:
        _ENQUEUE.run(conn, version_id=version_id, created_at=created)


class JobQueue:
    def __init__(
        self, db: Database, lease_seconds: float, max_attempts: int, owner: str | None = None
    ) -> None:
        self.db = db
        self.lease = lease_seconds
        self.max_attempts = max_attempts
        self.owner = owner or owner_id()

    def requeue_all_running(self) -> int:
        """SQLite only (one process runs every check): a running job is a dead one."""
        j, pv = t.check_jobs, t.photo_versions
        with self.db.write() as conn:
            conn.execute(
                update(pv)
                .where(pv.c.id.in_(select(j.c.version_id).where(j.c.state == RUNNING)))
                .values(check_state=V_QUEUED)
            )
            return int(
                conn.execute(
                    update(j)
                    .where(j.c.state == RUNNING)
                    .values(state=QUEUED, claimed_by=None, lease_until=None)
                ).rowcount
                or 0
            )

    def claim(self, limit: int) -> list[Job]:
        """Up to ``limit`` jobs, leased to this owner (queued ones, or leases run out)."""
        now = time.time()
        j = t.check_jobs
        with self.db.write() as conn:
            ids = (
                conn.execute(
                    select(j.c.id, j.c.attempts)
                    .where(
                        or_(
                            j.c.state == QUEUED,
                            (j.c.state == RUNNING) & (j.c.lease_until < now),
                        )
                    )
                    .order_by(j.c.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
                .all()
            )
            if not ids:
                return []
            spent = [row.id for row in ids if row.attempts >= self.max_attempts]
            fresh = [row.id for row in ids if row.attempts < self.max_attempts]
            if spent:
                self._give_up(conn, spent, now)
            if not fresh:
                return []
            conn.execute(
                update(j)
                .where(j.c.id.in_(fresh))
                .values(
                    state=RUNNING,
                    claimed_by=self.owner,
                    lease_until=now + self.lease,
                    attempts=j.c.attempts + 1,
                )
            )
            pv = t.photo_versions
            prev = pv.alias("prev")
            rows = conn.execute(
                select(
                    j.c.id, j.c.version_id, j.c.created_at, pv.c.sha256,
                    prev.c.sha256.label("prev_sha"),
                )
                .join(pv, pv.c.id == j.c.version_id)
                .join(
                    prev,
                    (prev.c.order_id == pv.c.order_id) & (prev.c.version_no == pv.c.version_no - 1),
                    isouter=True,
                )
                .where(j.c.id.in_(fresh))
                .order_by(j.c.id)
            ).all()
            conn.execute(
                update(pv)
                .where(pv.c.id.in_([r.version_id for r in rows]))
                .values(check_state=V_RUNNING)
            )
        return [Job(r.id, r.version_id, r.sha256, r.prev_sha, r.created_at) for r in rows]

    def _give_up(self, conn: Connection, job_ids: list[int], now: float) -> None:
        j, pv = t.check_jobs, t.photo_versions
        version_ids = select(j.c.version_id).where(j.c.id.in_(job_ids)).scalar_subquery()
        conn.execute(
            update(pv)
            .where(pv.c.id.in_(version_ids))
            .values(
                check_state=V_UNAVAILABLE,
                check_report=json.dumps(
                    {"unavailable": f"check abandoned after {self.max_attempts} attempts"}
                ),
            )
        )
        conn.execute(
            update(j)
            .where(j.c.id.in_(job_ids))
            .values(state=DONE, finished_at=now, lease_until=None)
        )

    def renew(self, job_ids: list[int]) -> int:
        """Extend this owner's leases (called while the checks run); how many it still holds."""
        if not job_ids:
            return 0
        j = t.check_jobs
        with self.db.write() as conn:
            return int(
                conn.execute(
                    update(j)
                    .where(j.c.id.in_(job_ids), j.c.claimed_by == self.owner, j.c.state == RUNNING)
                    .values(lease_until=time.time() + self.lease)
                ).rowcount
                or 0
            )

    def finish(self, job: Job, version_values: dict[str, Any]) -> bool:
        """Write the result if the claim is still this owner's; False: another has it."""
        j = t.check_jobs
        with self.db.write() as conn:
            held = conn.execute(
                update(j)
                .where(j.c.id == job.id, j.c.claimed_by == self.owner, j.c.state == RUNNING)
                .values(state=DONE, finished_at=time.time(), lease_until=None)
            ).rowcount
            if held != 1:
                return False
            conn.execute(
                update(t.photo_versions)
                .where(t.photo_versions.c.id == job.version_id)
                .values(**version_values)
            )
        return True

    def release(self, job_ids: list[int]) -> None:
        """Hand unfinished jobs back at once (a worker stopping cleanly)."""
        if not job_ids:
            return
        j = t.check_jobs
        with self.db.write() as conn:
            conn.execute(
                update(j)
                .where(j.c.id.in_(job_ids), j.c.claimed_by == self.owner, j.c.state == RUNNING)
                .values(state=QUEUED, claimed_by=None, lease_until=None, attempts=j.c.attempts - 1)
            )
            conn.execute(
                update(t.photo_versions)
                .where(
                    t.photo_versions.c.id.in_(
                        select(j.c.version_id).where(j.c.id.in_(job_ids), j.c.state == QUEUED)
                    )
                )
                .values(check_state=V_QUEUED)
            )


def backlog(conn: Connection) -> tuple[int, float | None]:
    """(jobs not finished, creation time of the oldest of them): the metrics' figures."""
    j = t.check_jobs
    depth, oldest = conn.execute(
        select(func.count(), func.min(j.c.created_at)).where(j.c.state.in_([QUEUED, RUNNING]))
    ).one()
    return int(depth or 0), oldest


def purge_done(conn: Connection, now: float | None = None) -> int:
    """Finished jobs older than a day (bounds the table; the report is on the version)."""
    now = time.time() if now is None else now
    j = t.check_jobs
    return int(
        conn.execute(
            delete(j).where(j.c.state == DONE, j.c.finished_at < now - KEEP_DONE_SECONDS)
        ).rowcount
        or 0
    )


class JobListener:
    """PostgreSQL: ``LISTEN kiosk_check_jobs`` on a connection of its own, in a thread.

    Calls ``on_job`` for every notification (a job was queued on any host).
    Why a raw psycopg connection and not one from the pool: it stays open and
    idle for the process's life, in autocommit (LISTEN inside a transaction
    hears nothing until it ends). A lost connection is opened again after
    ``retry_seconds``; meanwhile the runner's poll finds the jobs.
    """

    def __init__(
        self, url: str, on_job: Callable[[], None], retry_seconds: float = 5.0
    ) -> None:
        self.url = url
        self.on_job = on_job
        self.retry_seconds = retry_seconds
        self.listening = threading.Event()  # set while LISTEN is in effect
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_database(cls, db: Database, on_job: Callable[[], None]) -> JobListener | None:
        """A listener for ``db``, or None on SQLite (one process: uploads poke the runner)."""
        if db.is_sqlite:
            return None
        url = db.engine.url.set(drivername="postgresql")
        return cls(url.render_as_string(hide_password=False), on_job)

    def start(self, wait_seconds: float = 10.0) -> JobListener:
        """Start listening; waits (bounded) until LISTEN is in effect, so a caller
        that reports ready after this misses no job queued after it."""
        self._thread = threading.Thread(target=self._run, name="check-jobs-listen", daemon=True)
        self._thread.start()
        self.listening.wait(wait_seconds)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    self.on_job()  # jobs queued while not listening: look once
                    while not self._stop.is_set():
                        # short timeouts: stop() is heard within a second
                        for _note in conn.notifies(timeout=1.0, stop_after=1):
                            self.on_job()
            except Exception as exc:  # noqa: BLE001 - the poll goes on; listen again later
                log.warning("listening for check jobs failed: %s", type(exc).__name__)
            self.listening.clear()
            self._stop.wait(self.retry_seconds)
