"""Talk to systemd's service manager (sd_notify) without a library.

The screen runs as ``Type=notify`` with ``WatchdogSec=``: systemd restarts it
when the pings stop. A thread that pings on a timer would keep pinging while
the Kivy main loop is stuck, so :class:`Heartbeat` pings only when the loop
has ticked since the last ping: a hung screen goes quiet and gets restarted.

Outside systemd (``$NOTIFY_SOCKET`` unset) every call is a cheap no-op, so the
demo and tests need no special case.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

log = logging.getLogger(__name__)


def _address(raw: str) -> str | bytes | None:
    if not raw:
        return None
    if raw.startswith("@"):  # abstract namespace: leading NUL byte
        return b"\0" + raw[1:].encode()
    if raw.startswith("/"):
        return raw
    return None


def notify(state: str) -> bool:
    """Send ``state`` (e.g. ``READY=1``, ``STATUS=...``, ``WATCHDOG=1``) to systemd.

    Returns whether a datagram was sent. Never raises: a lost status line
    must not take the screen down.
    """
    addr = _address(os.environ.get("NOTIFY_SOCKET", ""))
    if addr is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(addr)
            sock.sendall(state.encode("utf-8", "replace"))
        return True
    except OSError as exc:
        log.debug("sd_notify %r failed: %s", state.split("=")[0], exc)
        return False


def ready(status: str = "") -> bool:
    return notify("READY=1" + (f"\nSTATUS={status}" if status else ""))


def status(text: str) -> bool:
    return notify(f"STATUS={text}")


def stopping() -> bool:
    return notify("STOPPING=1")


def watchdog_interval() -> float | None:
    """Seconds between pings (half of ``$WATCHDOG_USEC``), or None when not watched.

    Like ``sd_watchdog_enabled()``: ``$WATCHDOG_PID``, when set, must be us, so a
    child process that inherited the environment does not ping for its parent.
    """
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) <= 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 2_000_000


class Heartbeat:
    """Pings ``WATCHDOG=1`` from a thread, but only while the main loop keeps ticking.

    Call :meth:`tick` from the main loop (e.g. ``Clock.schedule_interval(hb.tick, 1)``),
    more often than the ping interval; :meth:`start` once the loop runs.
    """

    def __init__(self, interval: float | None = None) -> None:
        self.interval = interval if interval is not None else watchdog_interval()
        self._ticked = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.pings = 0

    @property
    def enabled(self) -> bool:
        return bool(self.interval)

    def tick(self, *_args: object) -> None:
        """Mark the main loop alive (accepts Kivy Clock's ``dt`` argument)."""
        self._ticked.set()

    def start(self) -> Heartbeat:
        if not self.enabled or self._thread is not None:
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sd-watchdog", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def _run(self) -> None:
        assert self.interval
        missed = 0
        while not self._stop.wait(self.interval):
            if self._ticked.is_set():
                self._ticked.clear()
                missed = 0
                if notify("WATCHDOG=1"):
                    self.pings += 1
            else:
                missed += 1
                if missed == 1:
                    log.warning("main loop did not tick for %.1f s: watchdog pings held",
                                self.interval)
