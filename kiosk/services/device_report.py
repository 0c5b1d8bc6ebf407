"""The screen's device health, handed to the upload worker for its heartbeats.

The camera and scanner belong to the screen's process (``kiosk run``); the
heartbeat is sent by another one (``kiosk worker``). The screen writes what its
operator panel shows to ``device-health.json`` in the state folder, in the one
shape (``hardware.health.Health``), when a state changes and at least every
``REFRESH_S``; the worker reads it and leaves out a report older than
``MAX_AGE_S`` (the screen is not running: the camera's state is unknown).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from durable import write_durable
from hardware.health import Health, unknown

log = logging.getLogger(__name__)
REPORT_FILE = "device-health.json"
REFRESH_S = 30.0
MAX_AGE_S = 120.0
# What the screen reports; the worker sees the printer and the outbox itself.
SCREEN_DEVICES = ("camera", "scanner", "network", "disk")


def _key(health: dict[str, Health]) -> tuple[Any, ...]:
    return tuple((name, h.state, h.paper_left) for name, h in sorted(health.items()))


class DeviceReport:
    """Writes the report off the calling thread, only when it would change something."""

    def __init__(self, state_dir: Path, clock: Any = time.time) -> None:
        self.path = Path(state_dir) / REPORT_FILE
        self.clock = clock
        self._last: tuple[Any, ...] | None = None
        self._written = float("-inf")
        self._busy = threading.Lock()

    def publish(self, health: dict[str, Health]) -> bool:
        """Called with the panel's health (UI thread, every few seconds); True if written."""
        now = self.clock()
        mine = {k: v for k, v in health.items() if k in SCREEN_DEVICES}
        key = _key(mine)
        if key == self._last and now - self._written < REFRESH_S:
            return False
        if not self._busy.acquire(blocking=False):
            return False  # the last write is still going: the next call catches up
        self._last, self._written = key, now
        data = json.dumps({"at": now, "devices": {k: v.as_dict() for k, v in mine.items()}},
                          ensure_ascii=False).encode()

        def write() -> None:
            try:
                write_durable(self.path, data)
            except OSError as exc:
                log.warning("device report not written: %s", exc)
            finally:
                self._busy.release()

        threading.Thread(target=write, name="device-report", daemon=True).start()
        return True


def read_report(state_dir: Path, now: float | None = None,
                max_age_s: float = MAX_AGE_S) -> dict[str, Health]:
    """The screen's devices as last reported; ``camera`` unknown when the report is stale."""
    now = time.time() if now is None else now
    try:
        raw = json.loads((Path(state_dir) / REPORT_FILE).read_text(encoding="utf-8"))
        at = float(raw["at"])
        devices = raw["devices"]
        if not isinstance(devices, dict):
            raise ValueError("devices is not a table")
    except (OSError, ValueError, KeyError, TypeError):
        return {"camera": unknown("the screen has not reported (kiosk run not started?)")}
    if now - at > max_age_s:
        return {"camera": unknown(f"the screen's last report is {now - at:.0f} s old")}
    return {name: Health.from_dict(value) for name, value in devices.items()
            if name in SCREEN_DEVICES}
