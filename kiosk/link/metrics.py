"""Prometheus ``/metrics`` of the kiosk's upload worker (``kiosk worker``).

The booth's side of what the center shows per kiosk: outbox depth, parked
photos and the oldest one's age, the worker's counters (uploads, retries,
heartbeats) and the state of each device its health reports. No collection
code, name or order number is ever a label or a value.

Served by a small HTTP server in a daemon thread, bound to
``[outbox] metrics_host`` (loopback by default: a Prometheus agent on the
booth, or an SSH tunnel) on ``metrics_port`` (0: not served); with
``metrics_token`` set, a scrape must send ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

PREFIX = "kiosk_worker_"
STATES = ("ok", "degraded", "attention", "failed", "unknown")


class WorkerCollector(Collector):
    def __init__(self, worker: Any) -> None:  # kiosk.link.worker.UploadWorker
        self.worker = worker

    def collect(self) -> Iterator[Any]:
        st = self.worker.outbox.status()
        yield GaugeMetricFamily(
            PREFIX + "outbox_depth", "Photos not yet acknowledged by the center", value=st["depth"]
        )
        yield GaugeMetricFamily(
            PREFIX + "outbox_parked", "Photos parked (refused for good; need the operator)",
            value=st["parked"],
        )
        yield GaugeMetricFamily(
            PREFIX + "outbox_oldest_age_seconds",
            "Age of the oldest photo not yet acknowledged (0: none)",
            value=st["oldest_age_s"] or 0.0,
        )
        c = CounterMetricFamily(
            PREFIX + "events", "Upload worker events since it started", labels=["event"]
        )
        for name, value in sorted(self.worker.counters.items()):
            c.add_metric([name], value)
        yield c
        g = GaugeMetricFamily(
            PREFIX + "device_state", "1 for the state each device reports", labels=["device", "state"]
        )
        try:
            health = self.worker.health()
        except Exception:  # noqa: BLE001 - a broken health source is itself reported
            health = {"health_source": "failed"}
        for device, value in sorted(health.items()):
            state = value.get("state") if isinstance(value, dict) else getattr(value, "state", value)
            state = state if state in STATES else "unknown"
            for s in STATES:
                g.add_metric([str(device)[:32], s], 1.0 if s == state else 0.0)
        yield g


class RegistryServer:
    """``GET /metrics`` of ``registry`` on (host, port) in a daemon thread; optional
    bearer token. Also serves ``kiosk center worker``'s own figures."""

    def __init__(
        self, registry: CollectorRegistry, host: str, port: int, token: str = "",
        name: str = "worker-metrics",
    ) -> None:
        expected = f"Bearer {token}".encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                given = (self.headers.get("Authorization") or "").encode()
                if token and not hmac.compare_digest(given, expected):
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", "Bearer")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = generate_latest(registry)
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE_LATEST)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:  # no access log on the booth
                pass

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, name=name, daemon=True)

    def start(self) -> RegistryServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class MetricsServer(RegistryServer):
    """The upload worker's /metrics (``kiosk worker``)."""

    def __init__(self, worker: Any, host: str, port: int, token: str = "") -> None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(WorkerCollector(worker))
        super().__init__(registry, host, port, token)
