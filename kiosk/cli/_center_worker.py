"""``kiosk center worker``: run compliance checks from the database's job queue (a
private module: the leading underscore keeps ``kiosk.cli`` from taking it for a
command).

Any number of these run on any hosts beside the API processes (PostgreSQL
only): each claims ``check_jobs`` rows for a lease (center/jobs.py), so they
scale by starting more, and one killed mid-check leaves its job to another.
Uploads on any host wake it at once (LISTEN/NOTIFY); ``check_poll_seconds``
is the fallback. SIGTERM hands the jobs in hand back at once.

systemd (kiosk-center-worker.service, ``Type=notify``, ``WatchdogSec=``): READY
once the worker listens for jobs, and ``WATCHDOG=1`` only while the check loop
keeps ticking (``kiosk.watchdog.Heartbeat``), so a stuck loop is restarted.
``[center_worker] metrics_port``: its own Prometheus /metrics (jobs done and
failed, check durations, claim age).
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable
from typing import Any

from kiosk.cli import EXIT_OK
from kiosk.errors import KioskError


def _refuse(key: str) -> KioskError:
    """One line on stderr and exit 3; the words are config/messages/center_ops.toml."""
    from kiosk.words import catalogue

    words = catalogue("center_ops")[key]
    return KioskError("center_worker", words["zh"], words["en"], "")


def _start_metrics(conf: dict[str, Any], registry: Any) -> Any:
    """The worker's /metrics when ``[center_worker] metrics_port`` is set, else None."""
    port = int(conf["metrics_port"])
    if not port:
        return None
    from kiosk.link.metrics import RegistryServer

    host = str(conf["metrics_host"])
    server = RegistryServer(registry, host, port, str(conf["metrics_token"]),
                            name="center-worker-metrics").start()
    print(f"check worker metrics on http://{host}:{server.port}/metrics",
          file=sys.stderr, flush=True)
    return server


def _worker(args: argparse.Namespace) -> int:
    from sqlalchemy import inspect

    from center.db import Database
    from center.metrics import WorkerMetrics
    from center.service import make_check_runner
    from center.storage import open_store
    from kiosk import watchdog
    from kiosk.cli.center_setup import settings_from_args
    from kiosk.settings import load_settings

    settings = settings_from_args(args)
    worker_conf = load_settings().section("center_worker")
    if args.processes is not None:
        settings.conf.setdefault("upload", {})["check_workers"] = args.processes
    if settings.db_url.startswith("sqlite"):
        raise _refuse("sqlite")
    db = Database(settings.db_url, pool_size=2)
    metrics_server = None
    heartbeat = watchdog.Heartbeat()
    try:
        if not inspect(db.engine).has_table("check_jobs"):
            raise _refuse("not_migrated")
        store = open_store(settings, db)
        runner = make_check_runner(settings, db, store, in_serving_process=False)
        if not runner.enabled:
            raise _refuse("checks_off")
        metrics = WorkerMetrics()
        runner.observer = metrics
        runner.on_tick = heartbeat.tick  # pings only while the check loop ticks
        metrics_server = _start_metrics(worker_conf, metrics.registry)

        def stop(_signum: int, _frame: Any) -> None:
            watchdog.stopping()
            runner.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        runner.start()  # returns once it LISTENs: no job queued after READY is missed
        print(
            f"check worker {runner.queue.owner}: {runner.workers} processes, "
            f"lease {runner.queue.lease:g} s",
            file=sys.stderr,
            flush=True,
        )
        heartbeat.start()
        watchdog.ready(f"checking with {runner.workers} processes")
        runner.join()
        store.close()
    finally:
        heartbeat.stop()
        if metrics_server is not None:
            metrics_server.stop()
        db.dispose()
    return EXIT_OK


def register(add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add("worker", _worker, "run compliance checks from the job queue (PostgreSQL, any host)")
    p.add_argument(
        "--processes",
        type=int,
        help="checker processes (default: [center_server.upload] check_workers)",
    )
