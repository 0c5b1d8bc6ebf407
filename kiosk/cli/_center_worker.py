"""``kiosk center worker``: run compliance checks from the database's job queue (a
private module: the leading underscore keeps ``kiosk.cli`` from taking it for a
command).

Any number of these run on any hosts beside the API processes (PostgreSQL
only): each claims ``check_jobs`` rows for a lease (center/jobs.py), so they
scale by starting more, and one killed mid-check leaves its job to another.
SIGTERM hands the jobs in hand back at once. systemd: kiosk-center-worker.service.
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


def _worker(args: argparse.Namespace) -> int:
    from sqlalchemy import inspect

    from center.db import Database
    from center.service import make_check_runner
    from center.storage import open_store
    from kiosk import watchdog
    from kiosk.cli.center_setup import settings_from_args

    settings = settings_from_args(args)
    if args.processes is not None:
        settings.conf.setdefault("upload", {})["check_workers"] = args.processes
    if settings.db_url.startswith("sqlite"):
        raise _refuse("sqlite")
    db = Database(settings.db_url, pool_size=2)
    try:
        if not inspect(db.engine).has_table("check_jobs"):
            raise _refuse("not_migrated")
        store = open_store(settings, db)
        runner = make_check_runner(settings, db, store, in_serving_process=False)
        if not runner.enabled:
            raise _refuse("checks_off")

        def stop(_signum: int, _frame: Any) -> None:
            watchdog.stopping()
            runner.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        print(
            f"check worker {runner.queue.owner}: {runner.workers} processes, "
            f"lease {runner.queue.lease:g} s",
            file=sys.stderr,
            flush=True,
        )
        watchdog.ready(f"checking with {runner.workers} processes")
        runner.run_forever()
        store.close()
    finally:
        db.dispose()
    return EXIT_OK


def register(add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add("worker", _worker, "run compliance checks from the job queue (PostgreSQL, any host)")
    p.add_argument(
        "--processes",
        type=int,
        help="checker processes (default: [center_server.upload] check_workers)",
    )
