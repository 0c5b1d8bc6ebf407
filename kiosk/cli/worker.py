"""``kiosk worker``: the upload worker as its own service (systemd ``Type=notify``).

Runs apart from the screen so a crash of the UI never stops uploads. SIGTERM
finishes the upload in flight (each acknowledgement is committed on its own)
and exits 0.
"""

from __future__ import annotations

import argparse
import logging
import signal
import time
from collections.abc import Callable
from typing import Any

from kiosk.cli import EXIT_OK

log = logging.getLogger("kiosk.worker")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("worker", help="run the upload worker (outbox drain + heartbeat)")
    parser.set_defaults(func=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    from kiosk import watchdog
    from kiosk.link.worker import UploadWorker

    ping_every = watchdog.watchdog_interval()
    last = {"ping": 0.0, "status": ""}
    holder: dict[str, UploadWorker] = {}

    def tick() -> None:
        now = time.monotonic()
        if ping_every and now - last["ping"] >= ping_every * 0.5:
            watchdog.notify("WATCHDOG=1")
            last["ping"] = now
        text = f"outbox depth {holder['w'].outbox.depth()}"
        if text != last["status"]:
            watchdog.status(text)
            last["status"] = text

    from kiosk.settings import load_settings

    settings = load_settings()
    worker = UploadWorker.for_booth(
        settings, health=booth_health(settings), on_tick=tick, max_sleep_s=ping_every
    )
    holder["w"] = worker
    box = worker.outbox
    metrics = _start_metrics(worker, settings)

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("signal %d: stopping after the current upload", signum)
        worker.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    worker.start()
    watchdog.ready(f"outbox depth {box.depth()}")
    try:
        while worker.thread and worker.thread.is_alive():
            worker.thread.join(0.5)
    finally:
        watchdog.stopping()
        worker.stop()
        if metrics:
            metrics.stop()
        box.close()
    return EXIT_OK


PRINTER_STATES = {"ok": "ok", "warn": "degraded", "fail": "attention"}


def booth_health(settings: Any, max_age_s: float = 15.0) -> Callable[[], dict[str, Any]]:
    """What this process can see of the booth, for heartbeats and /metrics.

    The printer's CUPS queue (``kiosk doctor``'s printer check: paper, ribbon,
    jam, stopped queue) when ``printer.queue`` is set; the camera belongs to the
    screen's process and is not opened here. Cached ``max_age_s`` so a scrape
    and a heartbeat together ask CUPS once.
    """
    cache: dict[str, Any] = {"at": float("-inf"), "value": {}}

    def health() -> dict[str, Any]:
        now = time.monotonic()
        if now - cache["at"] < max_age_s:
            return cache["value"]
        value: dict[str, Any] = {"upload_worker": "ok"}
        if settings.get("printer.queue"):
            try:
                from kiosk.doctor import printer

                res = printer.check(settings)
                value["printer"] = {"state": PRINTER_STATES.get(res.status, "unknown"),
                                    "detail": res.detail[:200]}
            except Exception as exc:  # noqa: BLE001 - CUPS down or pycups missing
                value["printer"] = {"state": "unknown", "detail": type(exc).__name__}
        cache.update(at=now, value=value)
        return value

    return health


def _start_metrics(worker: Any, settings: Any) -> Any:
    """Prometheus /metrics of this worker when ``[outbox] metrics_port`` is set."""
    port = int(settings.get("outbox.metrics_port"))
    if not port:
        return None
    from kiosk.link.metrics import MetricsServer

    host = str(settings.get("outbox.metrics_host"))
    server = MetricsServer(worker, host, port, str(settings.get("outbox.metrics_token"))).start()
    log.info("metrics on http://%s:%d/metrics", host, server.port)
    return server
