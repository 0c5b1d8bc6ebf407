"""Prometheus ``/metrics`` of the center, read from the database at scrape time.

Why from the database and not from counters in memory: the center runs as
several processes on several hosts, and any of them may answer a scrape;
the database is what they share, so every process reports the same,
complete figures and a restart loses no count. The queries use indexed
columns and run only when Prometheus scrapes (every 15–60 s).

What it holds: uploads per kiosk, the compliance-check queue (depth and
oldest), the review backlog (depth and oldest), orders per state, the
e-mail queue, and per kiosk what its last heartbeat carried (age, outbox
depth and oldest item, device states such as printer and camera, paper
left when the kiosk reports it). Labels are kiosk names, device names and
states, never collection codes, student names or order numbers.

Protection (center/README.md, "Metrics"): ``/metrics`` answers only with
``Authorization: Bearer <[center_server.metrics] token>``; with no token set
it does not exist (404). Heartbeats come from kiosks, so the device names and
states they carry are bounded before they become labels.
"""

from __future__ import annotations

import hmac
import json
import re
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from center import jobs, orders
from center import schema as t

PREFIX = "kiosk_center_"
STATES = ("ok", "degraded", "attention", "failed", "unknown")
_DEVICE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_DEVICES = 16


def device_states(health: Any) -> dict[str, str]:
    """``{device: state}`` from a heartbeat's ``health``, bounded and normalized.

    A value is a state string (``"ok"``) or an object with ``state``
    (``{"state": "attention", "detail": ...}``); unknown words become "unknown".
    """
    out: dict[str, str] = {}
    if not isinstance(health, dict):
        return out
    for name, value in health.items():
        if len(out) >= MAX_DEVICES or not isinstance(name, str) or not _DEVICE.match(name):
            continue
        state = value.get("state") if isinstance(value, dict) else value
        if not isinstance(state, str):
            continue
        out[name] = state if state in STATES else "unknown"
    return out


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value == value and abs(value) < 1e12 else None


def paper_left(heartbeat: dict[str, Any]) -> float | None:
    """Sheets of paper left, where the kiosk reports them (printer health or counters)."""
    printer = (heartbeat.get("health") or {}).get("printer")
    if isinstance(printer, dict) and _number(printer.get("paper_left")) is not None:
        return _number(printer.get("paper_left"))
    return _number((heartbeat.get("counters") or {}).get("paper_left"))


def outbox_oldest(heartbeat: dict[str, Any]) -> float | None:
    outbox = (heartbeat.get("health") or {}).get("outbox")
    return _number(outbox.get("oldest_age_s")) if isinstance(outbox, dict) else None


class CenterCollector(Collector):
    """Collects at scrape time from the center's database."""

    def __init__(self, db: Any) -> None:  # center.db.Database
        self.db = db

    def collect(self) -> Iterator[Any]:
        now = time.time()
        with self.db.read() as conn:
            uploads = conn.execute(
                select(t.kiosks.c.name, func.count(t.photo_versions.c.id))
                .select_from(t.photo_versions)
                .join(t.kiosks, t.kiosks.c.id == t.photo_versions.c.kiosk_id, isouter=True)
                .group_by(t.kiosks.c.name)
            ).all()
            check_depth, check_oldest = jobs.backlog(conn)  # the check_jobs table
            by_state = dict(
                conn.execute(
                    select(t.orders.c.state, func.count()).group_by(t.orders.c.state)
                ).all()
            )
            review_oldest = conn.execute(
                select(func.min(t.orders.c.updated_at)).where(t.orders.c.state == orders.PENDING)
            ).scalar()
            emails = dict(
                conn.execute(
                    select(t.email_requests.c.state, func.count()).group_by(
                        t.email_requests.c.state
                    )
                ).all()
            )
            kiosks = conn.execute(
                select(t.kiosks.c.name, t.kiosks.c.last_seen, t.kiosks.c.heartbeat).where(
                    t.kiosks.c.disabled.is_(False)
                )
            ).all()

        c = CounterMetricFamily(
            PREFIX + "uploads", "Photo versions the center accepted, per kiosk", labels=["kiosk"]
        )
        for name, n in uploads:
            c.add_metric([name or ""], n)
        yield c
        yield GaugeMetricFamily(
            PREFIX + "check_queue_depth", "Versions waiting for or in the compliance check",
            value=check_depth,
        )
        yield GaugeMetricFamily(
            PREFIX + "check_queue_oldest_age_seconds",
            "Age of the oldest version waiting for its compliance check (0: none)",
            value=max(0.0, now - check_oldest) if check_oldest else 0.0,
        )
        yield GaugeMetricFamily(
            PREFIX + "review_backlog", "Orders waiting for a reviewer (pending_review)",
            value=by_state.get(orders.PENDING, 0),
        )
        yield GaugeMetricFamily(
            PREFIX + "review_backlog_oldest_age_seconds",
            "Age of the oldest order waiting for a reviewer (0: none)",
            value=max(0.0, now - review_oldest) if review_oldest else 0.0,
        )
        g = GaugeMetricFamily(PREFIX + "orders", "Orders per state", labels=["state"])
        for state in orders.LABELS:
            g.add_metric([state], by_state.get(state, 0))
        yield g
        g = GaugeMetricFamily(PREFIX + "email_requests", "E-mail requests per state", labels=["state"])
        for state in ("queued", "sending", "sent", "failed"):
            g.add_metric([state], emails.get(state, 0))
        yield g
        yield from self._kiosks(kiosks, now)

    def _kiosks(self, kiosks: list[Any], now: float) -> Iterator[Any]:
        seen = GaugeMetricFamily(
            PREFIX + "kiosk_seen", "1 when the kiosk has sent a heartbeat", labels=["kiosk"]
        )
        age = GaugeMetricFamily(
            PREFIX + "kiosk_heartbeat_age_seconds", "Seconds since the kiosk's last heartbeat",
            labels=["kiosk"],
        )
        depth = GaugeMetricFamily(
            PREFIX + "kiosk_outbox_depth",
            "Photos in the kiosk's outbox not yet acknowledged (last heartbeat)", labels=["kiosk"],
        )
        oldest = GaugeMetricFamily(
            PREFIX + "kiosk_outbox_oldest_age_seconds",
            "Age of the oldest photo in the kiosk's outbox at its last heartbeat", labels=["kiosk"],
        )
        device = GaugeMetricFamily(
            PREFIX + "kiosk_device_state",
            "1 for the state each device of the kiosk reported (last heartbeat)",
            labels=["kiosk", "device", "state"],
        )
        paper = GaugeMetricFamily(
            PREFIX + "kiosk_paper_left", "Sheets of paper left, where the kiosk reports them",
            labels=["kiosk"],
        )
        for name, last_seen, raw in kiosks:
            seen.add_metric([name], 1 if last_seen else 0)
            if not last_seen:
                continue
            age.add_metric([name], max(0.0, now - last_seen))
            try:
                beat = json.loads(raw or "{}")
            except ValueError:
                beat = {}
            if not isinstance(beat, dict):
                beat = {}
            depth.add_metric([name], _number(beat.get("outbox_depth")) or 0.0)
            if (value := outbox_oldest(beat)) is not None:
                oldest.add_metric([name], value)
            for dev, state in device_states(beat.get("health")).items():
                for s in STATES:
                    device.add_metric([name, dev, s], 1.0 if s == state else 0.0)
            if (value := paper_left(beat)) is not None:
                paper.add_metric([name], value)
        yield from (seen, age, depth, oldest, device, paper)


def registry_for(db: Any) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CenterCollector(db))
    return registry


metrics_router = APIRouter(include_in_schema=False)


@metrics_router.get("/metrics")
def metrics(request: Request) -> Response:
    center = request.app.state.center
    token = str(center.conf("metrics.token") or "")
    if not token:
        return Response(status_code=404)
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
    registry = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        registry = request.app.state.metrics_registry = registry_for(center.db)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


WORKER_PREFIX = "kiosk_center_worker_"


class WorkerMetrics:
    """``kiosk center worker``'s own figures, counted in its memory (a ``CheckObserver``).

    Why not from the database like the center's: these say what this one
    worker did (its checks' durations, how long jobs waited until it took
    them), which no table keeps; each worker is scraped on its own port
    (``[center_worker] metrics_port``), and Prometheus sums them.
    """

    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        self.registry = CollectorRegistry(auto_describe=True)
        self.jobs = Counter(
            WORKER_PREFIX + "jobs",
            "Check jobs this worker ended: done (report written), failed (check "
            "unavailable: photo unreadable, checker crashed), lost (lease taken over)",
            ["outcome"], registry=self.registry,
        )
        for outcome in ("done", "failed", "lost"):
            self.jobs.labels(outcome)  # present at 0 from the start
        self.check_seconds = Histogram(
            WORKER_PREFIX + "check_duration_seconds",
            "CPU-bound compliance check of one photo, in the checker process",
            buckets=(0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0),
            registry=self.registry,
        )
        self.claim_age = Histogram(
            WORKER_PREFIX + "claim_age_seconds",
            "Seconds a job waited in the queue until this worker claimed it",
            buckets=(0.1, 0.5, 1.0, 2.0, 5.0, 15.0, 60.0, 300.0, 1800.0, 7200.0),
            registry=self.registry,
        )

    def claimed(self, claimed_jobs: list[jobs.Job], now: float) -> None:
        for job in claimed_jobs:
            if job.queued_at is not None:
                self.claim_age.observe(max(0.0, now - job.queued_at))

    def finished(self, outcome: str, seconds: float | None) -> None:
        self.jobs.labels(outcome).inc()
        if seconds is not None:
            self.check_seconds.observe(seconds)
