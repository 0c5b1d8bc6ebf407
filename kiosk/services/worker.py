"""A named background thread that runs jobs one at a time, in order.

One thread per device keeps calls to that device sequential (a camera or a
CUPS connection is not safe to share), and the UI thread never waits on it.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from kiosk.redact import scrub

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: queue.Queue[tuple[Callable[..., Any], tuple[Any, ...]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self.busy = False
        self.last_error = ""

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        self._jobs.put((fn, args))

    def pending(self) -> int:
        return self._jobs.qsize() + (1 if self.busy else 0)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, args = job
            self.busy = True
            try:
                fn(*args)
            except Exception as exc:  # a bug in one job must not kill the worker
                self.last_error = scrub(f"{type(exc).__name__}: {exc}")
                log.exception("%s: job failed", self.name)
            finally:
                self.busy = False

    def stop(self, timeout: float = 2.0) -> None:
        self._jobs.put(None)
        self._thread.join(timeout)
