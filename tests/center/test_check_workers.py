"""Compliance checks as a job queue (center/jobs.py): ``kiosk center worker`` processes
on PostgreSQL claim jobs for a lease; one killed mid-check leaves its job to another."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from center import jobs
from center import schema as t
from center.demo import seed
from tests.center.conftest import PG_URL, STUDENT, STUDENT_X, KioskHttp, identify, reset_pg, upload
from tests.center.hosts import KIOSK, Host, Side
from tests.center.s3 import free_port

pg_only = pytest.mark.skipif(
    not PG_URL, reason="KIOSK_TEST_PG_URL not set (scripts/test.d/postgres.sh starts PostgreSQL)"
)
LEASE = 4.0
CONF = {
    "upload": {
        "check_workers": 1,
        "check_in_process": False,  # the API host only queues; workers check
        "check_lease_seconds": LEASE,
        "check_poll_seconds": 0.3,
    },
    "photo_store": {"backend": "database"},
}


def _wait(predicate, timeout: float):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


def _job(side: Side) -> tuple:
    with side.db.read() as conn:
        return conn.execute(
            select(
                t.check_jobs.c.state,
                t.check_jobs.c.claimed_by,
                t.check_jobs.c.attempts,
                t.photo_versions.c.check_state,
                t.photo_versions.c.check_report,
            ).join(t.photo_versions, t.photo_versions.c.id == t.check_jobs.c.version_id)
        ).one()


@pg_only
def test_worker_killed_mid_check_leaves_the_job_to_another(tmp_path: Path, photo: bytes) -> None:
    pytest.importorskip("kiosk.photo.check")
    reset_pg(PG_URL)
    api = Host(tmp_path, "api", PG_URL, CONF).start()
    side = Side(PG_URL)
    workers: list[Host] = []
    try:
        token = seed(side.db, "test-kiosk") or ""
        c = KioskHttp(base_url=api.url, headers={"Authorization": f"Bearer {token}"}, timeout=15)
        assert upload(c, STUDENT["code"], photo, "k-worker-1").status_code == 201
        time.sleep(1.5)
        assert _job(side)[:4] == ("queued", None, 0, "queued")  # the API host checks nothing

        first = Host(tmp_path, "worker-1", PG_URL, CONF, command="worker")
        second = Host(tmp_path, "worker-2", PG_URL, CONF, command="worker")
        workers += [first, second]
        first.start()
        assert first.proc is not None
        mine = f"/{first.proc.pid}/"
        held = _wait(lambda: (j := _job(side))[0] == "running" and mine in (j[1] or ""), 60)
        assert held, (_job(side), first.output())
        first.kill()  # kill -9 mid-check (its checker process dies with it)
        state, _who, attempts, check_state, report = _job(side)
        assert (state, attempts, check_state, report) == ("running", 1, "running", None)

        second.start()
        assert second.proc is not None

        def checked():  # noqa: ANN202
            j = _job(side)
            return j if j[3] not in ("queued", "running") else None

        row = _wait(checked, 180)
        assert row is not None, (_job(side), second.output())
        state, who, attempts, check_state, report = row
        assert check_state == "done", report
        assert state == "done" and f"/{second.proc.pid}/" in who and attempts == 2
        assert {"name", "verdict"} <= set(json.loads(report)["items"][0])
        time.sleep(LEASE + 1)  # nothing reopens it: one checked state, for good
        assert _job(side)[0::3] == ("done", "done")
    finally:
        for w in workers:
            w.stop()
        api.stop()
        side.db.dispose()


@pg_only
def test_claims_skip_each_other_and_leases_run_out(tmp_path: Path, photo: bytes) -> None:
    """Many claimers at once never share a job; a lapsed lease moves the job on, and
    the old holder can no longer write its result."""
    reset_pg(PG_URL)
    api = Host(tmp_path, "api", PG_URL, CONF).start()
    side = Side(PG_URL)
    try:
        token = seed(side.db, "test-kiosk") or ""
        c = KioskHttp(base_url=api.url, headers={"Authorization": f"Bearer {token}"}, timeout=15)
        from tests.center.conftest import demo_last4

        codes = list(demo_last4())[:6]
        for i, code in enumerate(codes):
            assert upload(c, code, photo, f"k-claims-{i}").status_code == 201
        queues = [jobs.JobQueue(side.db, lease_seconds=1.0, max_attempts=3) for _ in range(4)]
        got: dict[int, list[int]] = {}

        def claim(i: int) -> None:
            got[i] = [job.id for job in queues[i].claim(2)]

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        claimed = [jid for ids in got.values() for jid in ids]
        assert len(claimed) == len(set(claimed)) == 6, got  # each job to exactly one
        # queue 0 stops renewing; after its lease another takes its jobs over
        lost = got[0] or got[1]
        holder = queues[0] if got[0] else queues[1]
        time.sleep(1.2)
        assert queues[3].renew(got[3]) == len(got[3])  # a live holder keeps its own
        taken = queues[2].claim(10)
        assert {job.id for job in taken} >= set(lost)
        job = next(j for j in taken if j.id == lost[0])
        old = jobs.Job(job.id, job.version_id, job.sha256, None)
        assert not holder.finish(old, {"check_state": "done"})  # fenced off
        assert queues[2].finish(job, {"check_state": "done", "check_report": "{}"})
        with side.db.read() as conn:
            assert jobs.backlog(conn)[0] == 5
    finally:
        api.stop()
        side.db.dispose()


class NotifySocket:
    """systemd's end of sd_notify: a datagram socket a worker's NOTIFY_SOCKET names."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.messages: list[str] = []

    def wait_for(self, text: str, timeout: float) -> bool:
        """Until a message holding ``text`` arrives (after those already matched)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                message = self.sock.recv(4096).decode()
            except TimeoutError:
                break
            self.messages.append(message)
            if text in message:
                return True
        return False

    def close(self) -> None:
        self.sock.close()


def _checked(side: Side):  # noqa: ANN202
    j = _job(side)
    return j if j[3] not in ("queued", "running") else None


@pg_only
def test_upload_wakes_a_worker_at_once_though_it_polls_rarely(tmp_path: Path, photo: bytes) -> None:
    """LISTEN/NOTIFY: a worker that looks at the queue only every 10 minutes checks a
    photo uploaded on an API host (another process) as soon as it is queued."""
    pytest.importorskip("kiosk.photo.check")
    reset_pg(PG_URL)
    api = Host(tmp_path, "api", PG_URL, CONF).start()
    side = Side(PG_URL)
    notify = NotifySocket(tmp_path / "notify.sock")
    rare = {**CONF, "upload": {**CONF["upload"], "check_poll_seconds": 600.0}}
    worker = Host(tmp_path, "worker", PG_URL, rare, command="worker",
                  env={"NOTIFY_SOCKET": str(notify.path)})
    try:
        token = seed(side.db, "test-kiosk") or ""
        worker.start()
        assert notify.wait_for("READY=1", 90), (notify.messages, worker.output())
        time.sleep(1.0)  # its start-up look at the queue is over: only a wake-up helps now
        c = KioskHttp(base_url=api.url, headers={"Authorization": f"Bearer {token}"}, timeout=15)
        assert upload(c, STUDENT["code"], photo, "k-wake-1").status_code == 201
        row = _wait(lambda: _checked(side), 120)
        assert row is not None, (_job(side), worker.output())
        assert row[3] == "done" and json.loads(row[4])["items"], row
    finally:
        worker.stop()
        api.stop()
        side.db.dispose()
        notify.close()


def _scrape(url: str, token: str = "") -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``{(sample name, labels): value}`` of a real HTTP scrape."""
    from prometheus_client.parser import text_string_to_metric_families

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = httpx.get(url, headers=headers, timeout=10)
    r.raise_for_status()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


@pg_only
def test_worker_pings_the_watchdog_and_serves_its_own_metrics(tmp_path: Path, photo: bytes) -> None:
    """``kiosk center worker`` under systemd: READY, then WATCHDOG pings while it lives,
    STOPPING on SIGTERM; its /metrics (own port, bearer token) counts the check it ran."""
    pytest.importorskip("kiosk.photo.check")
    reset_pg(PG_URL)
    api = Host(tmp_path, "api", PG_URL, CONF).start()
    side = Side(PG_URL)
    notify = NotifySocket(tmp_path / "notify.sock")
    port, secret = free_port(), "scrape-token-0123456789"
    worker = Host(
        tmp_path, "worker", PG_URL, CONF, command="worker",
        sections={"center_worker": {"metrics_port": port, "metrics_token": secret}},
        env={"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "2000000", "WATCHDOG_PID": ""},
    )
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        token = seed(side.db, "test-kiosk") or ""
        c = KioskHttp(base_url=api.url, headers={"Authorization": f"Bearer {token}"}, timeout=15)
        assert upload(c, STUDENT["code"], photo, "k-metrics-1").status_code == 201
        worker.start()
        assert notify.wait_for("READY=1", 90), (notify.messages, worker.output())
        for _ in range(2):  # pings go on (one per second at WATCHDOG_USEC = 2 s)
            assert notify.wait_for("WATCHDOG=1", 5), (notify.messages, worker.output())
        assert httpx.get(url, timeout=10).status_code == 401  # no token, no figures
        row = _wait(lambda: _checked(side), 120)
        assert row is not None and row[3] == "done", (_job(side), worker.output())
        figures = _wait(lambda: (f := _scrape(url, secret)).get(
            ("kiosk_center_worker_jobs_total", (("outcome", "done"),))) and f, 10)
        assert figures, _scrape(url, secret)
        assert figures[("kiosk_center_worker_jobs_total", (("outcome", "done"),))] == 1
        assert figures[("kiosk_center_worker_jobs_total", (("outcome", "failed"),))] == 0
        assert figures[("kiosk_center_worker_check_duration_seconds_count", ())] == 1
        assert figures[("kiosk_center_worker_check_duration_seconds_sum", ())] > 0
        assert figures[("kiosk_center_worker_claim_age_seconds_count", ())] == 1
        # the job was queued before the worker started: it waited at least that long
        assert figures[("kiosk_center_worker_claim_age_seconds_sum", ())] > 0.5
        assert worker.proc is not None
        worker.proc.send_signal(signal.SIGTERM)
        assert worker.proc.wait(30) == 0, worker.output()
        assert notify.wait_for("STOPPING=1", 5), notify.messages
    finally:
        worker.stop()
        api.stop()
        side.db.dispose()
        notify.close()


def test_worker_refuses_sqlite(tmp_path: Path) -> None:
    out = subprocess.run(
        [str(KIOSK), "center", "worker", "--data", str(tmp_path / "c"),
         "--db", f"sqlite+pysqlite:///{tmp_path / 'c.db'}"],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 3 and "PostgreSQL" in out.stderr, out.stderr


def test_sqlite_center_still_checks_in_process(tmp_path: Path, photo: bytes) -> None:
    """SQLite: the one serving process queues and runs the checks (the default)."""
    pytest.importorskip("kiosk.photo.check")
    from tests.center.conftest import Running, base_overrides

    run = Running(
        tmp_path / "c", f"sqlite+pysqlite:///{tmp_path / 'c.db'}",
        base_overrides(upload={"check_workers": 1}),
    ).start()
    try:
        c = run.client()
        assert identify(c, STUDENT_X, id_last4="002X", feature_code=None,
                        context={"kind": "region", "id": "R-GZ-01"}).status_code == 200
        assert upload(c, STUDENT_X["code"], photo, "k-sqlite-check").status_code == 201
        side = Side(run.db_url)
        row = _wait(lambda: (j := _job(side))[0] == "done" and j, 120)
        assert row and row[3] == "done" and row[2] == 1, _job(side)
        side.db.dispose()
    finally:
        run.stop()


def test_upgrade_queues_the_versions_the_old_checker_left(tmp_path: Path) -> None:
    """Migration 0006_jobs: versions waiting (or caught running) get a job; checked ones not."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, insert, text

    from center.db import MIGRATIONS, sqlite_url

    url = sqlite_url(tmp_path / "old.db")
    engine = create_engine(url)  # no foreign-key pragma: bare version rows will do
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")
        for vid, state in enumerate(["queued", "running", "done", "off"], start=1):
            conn.execute(
                insert(t.photo_versions).values(
                    id=vid, order_id=1, version_no=vid, sha256="0" * 64, size=1,
                    created_at=0.0, check_state=state,
                )
            )
        command.upgrade(cfg, "head")
        queued = conn.execute(text("SELECT version_id, state FROM check_jobs ORDER BY id")).all()
        states = conn.execute(text("SELECT check_state FROM photo_versions ORDER BY id")).scalars()
        assert [tuple(r) for r in queued] == [(1, "queued"), (2, "queued")]
        assert list(states) == ["queued", "queued", "done", "off"]
    engine.dispose()
