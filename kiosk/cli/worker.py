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
from pathlib import Path
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
    from kiosk.paths import state_dir

    worker = UploadWorker.for_booth(
        settings, health=booth_health(settings, state_dir()), on_tick=tick,
        max_sleep_s=ping_every
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


def booth_health(settings: Any, state_dir: Path,
                 max_age_s: float = 15.0) -> Callable[[], dict[str, Any]]:
    """What the heartbeat and /metrics say of the booth's devices, each in the one
    shape (``hardware.health.Health.as_dict``).

    The printer's CUPS queue when ``printer.queue`` is set (the doctor's reading:
    paper, ribbon, jam, stopped queue, and the sheets left where the printer counts
    them); the camera, scanner, network and disk as the screen's process last
    reported them (``kiosk.services.device_report``: the camera is not opened
    here). Cached ``max_age_s`` so a scrape and a heartbeat together ask CUPS once.
    """
    from kiosk.doctor.printer import printer_health
    from kiosk.services.device_report import read_report

    cache: dict[str, Any] = {"at": float("-inf"), "value": {}}

    def health() -> dict[str, Any]:
        now = time.monotonic()
        if now - cache["at"] < max_age_s:
            return cache["value"]
        value: dict[str, Any] = {"upload_worker": "ok"}
        value.update({name: h.as_dict() for name, h in read_report(state_dir).items()})
        printer = printer_health(settings)
        if printer is not None:
            value["printer"] = printer.as_dict()
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
