"""The upload worker: drains the outbox, sweeps old copies, sends heartbeats.

The same loop runs as a background thread of the screen and as its own
systemd service (``kiosk worker``), so a crash of the screen never stops
uploads; leases in the outbox keep the two from sending one photo twice. It
sleeps until the next item is due, the next heartbeat, or a wake-up from
``Outbox.enqueue`` — whichever comes first — so a new photo leaves at once and
an idle booth costs nothing.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

from kiosk import __version__, notices
from kiosk.errors import KioskError
from kiosk.link import outbox_repair as repair
from kiosk.link.client import CenterClient, CenterRefused, CenterUnreachable
from kiosk.link.outbox import Outbox, OutboxFull, disk_full_error
from kiosk.link.wake import Waker

log = logging.getLogger(__name__)

ClientFactory = Callable[[], CenterClient]


def outbox_health(outbox: Outbox) -> dict[str, Any]:
    """The outbox as a heartbeat's health entry: state, depth and oldest item's age."""
    st = outbox.status()
    return {
        "state": "attention" if st["parked"] else "ok",
        "depth": st["depth"],
        "parked": st["parked"],
        "oldest_age_s": st["oldest_age_s"] or 0.0,
    }


class UploadWorker:
    """``run()`` in the calling thread, or ``start()`` a daemon thread; ``stop()`` ends it.

    ``client_factory`` is called again after the center was unreachable, so an
    embedded center that came back on another port is found. ``health`` returns
    the booth's health for heartbeats (camera, printer...); ``on_tick`` is called
    once per loop (the systemd watchdog ping).
    """

    def __init__(
        self,
        outbox: Outbox,
        client_factory: ClientFactory,
        *,
        heartbeat_interval_s: float = 60.0,
        cleanup_interval_s: float = 600.0,
        idle_poll_s: float = 30.0,
        health: Callable[[], dict[str, Any]] | None = None,
        on_tick: Callable[[], None] | None = None,
        version: str = __version__,
    ) -> None:
        self.outbox = outbox
        self.client_factory = client_factory
        self.heartbeat_interval_s = heartbeat_interval_s
        self.cleanup_interval_s = cleanup_interval_s
        self.idle_poll_s = idle_poll_s
        self.health = health or (lambda: {"upload_worker": "ok"})
        self.on_tick = on_tick
        self.version = version
        self.counters: dict[str, int] = {
            "uploaded": 0, "retried": 0, "parked": 0,
            "heartbeats_ok": 0, "heartbeats_failed": 0,
        }
        self.last_error: dict[str, str] | None = None
        self._client: CenterClient | None = None
        self._streak = 0  # consecutive passes that found the center unreachable
        self._stop = threading.Event()
        self._waker: Waker | None = None
        self._thread: threading.Thread | None = None
        self._next_heartbeat = 0.0
        self._next_cleanup = 0.0
        self.disk_full = False  # the last pass met a full disk (logged once, not every pass)

    @classmethod
    def for_booth(
        cls,
        settings: Any,
        health: Callable[[], dict[str, Any]] | None = None,
        on_tick: Callable[[], None] | None = None,
        max_sleep_s: float | None = None,
    ) -> UploadWorker:
        """The booth's worker: its outbox, its center (configured or embedded), its timings.

        Used by the screen's background thread and by ``kiosk worker`` alike;
        ``settings`` are the parsed ones the program started with.
        """
        from kiosk.link.connect import make_client

        idle = float(settings.get("outbox.idle_poll_s"))
        if max_sleep_s:
            idle = min(idle, max_sleep_s)
        return cls(
            Outbox.open_default(None, settings),
            lambda: make_client(settings),
            heartbeat_interval_s=float(settings.get("center.heartbeat_interval_s")),
            cleanup_interval_s=float(settings.get("outbox.cleanup_interval_s")),
            idle_poll_s=idle,
            health=health,
            on_tick=on_tick,
        )

    # -- lifecycle -------------------------------------------------------
    def start(self, name: str = "upload-worker") -> threading.Thread:
        self._thread = threading.Thread(target=self.run, name=name, daemon=True)
        self._thread.start()
        return self._thread

    def request_stop(self) -> None:
        """Ask the loop to end after the current upload (safe from a signal handler)."""
        self._stop.set()
        if self._waker:
            self._waker.wake()

    def stop(self, timeout: float | None = 10.0) -> None:
        """``request_stop`` and wait for the thread ``start`` made."""
        self.request_stop()
        if self._thread and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        self._waker = Waker(self.outbox.wake_dir)
        try:
            while not self._stop.is_set():
                try:
                    delay = self.step()
                except Exception as exc:  # a bug here must not end uploads for good
                    log.exception("upload worker pass failed")
                    self._drop_client()
                    self._note_error(KioskError("worker_error", *notices.words("upload_error"),
                                                f"{type(exc).__name__}: {exc}"))
                    delay = self.outbox.policy.backoff(self._streak)
                if self.on_tick:
                    self.on_tick()
                if self._stop.is_set():
                    break
                self._waker.wait(delay)
        finally:
            waker, self._waker = self._waker, None
            waker.close()
            if self._client:
                self._client.close()
                self._client = None

    # -- one pass --------------------------------------------------------
    def _get_client(self) -> CenterClient | None:
        if self._client is None:
            try:
                self._client = self.client_factory()
            except KioskError as exc:  # no token yet, embedded center not running...
                self._note_error(exc)
                return None
            except Exception as exc:
                log.exception("cannot build the center client")
                self._note_error(KioskError("client_error", *notices.words("center_unreachable_short"), type(exc).__name__))
                return None
        return self._client

    def _drop_client(self) -> None:
        if self._client:
            self._client.close()
        self._client = None

    def _note_error(self, exc: KioskError) -> None:
        self.last_error = {"code": exc.code, "en": exc.en, "zh": exc.zh, "detail": exc.detail}
        self._streak += 1

    def step(self) -> float:
        """Sweep, drain, heartbeat as due; returns how long to sleep before the next pass.

        A full disk or a damaged queue database is said in one line and the
        worker goes on: on a full disk it keeps uploading and deletes the
        copies the center has; a damaged database is set aside and rebuilt.
        """
        self._watch_disk()
        try:
            delay = self._step()
        except OutboxFull as exc:
            self._note_error(exc)
            if not self.disk_full:
                log.error("upload worker: %s", exc.detail)
                self.disk_full = True
            return self.outbox.policy.backoff(self._streak)
        except sqlite3.DatabaseError as exc:
            if not repair.is_damaged(exc):
                raise
            log.error("upload worker: the queue database is damaged (%s); rebuilding it", exc)
            self.outbox.reopen()
            return 0.0
        return delay

    def _watch_disk(self) -> None:
        """Say once when the disk fills and when it has room again; free what the center has."""
        full = self.outbox.short_of_room()
        if full and not self.disk_full:
            self.disk_full = True
            log.error("upload worker: %s", disk_full_error(self.outbox.dir, "uploading on").detail)
            self._purge_sent()
        elif not full and self.disk_full:
            self.disk_full = False
            self.outbox.restore_reserve()
            log.info("upload worker: the disk has room again")

    def _purge_sent(self) -> None:
        """On a full disk the center's copy is enough: delete the booth's at once."""
        try:
            self.outbox.purge(now=True)
        except Exception as exc:  # noqa: BLE001 - still full: already said in one line
            log.debug("purge on a full disk: %s", exc)

    def _step(self) -> float:
        now = time.monotonic()
        if now >= self._next_cleanup:
            self._next_cleanup = now + self.cleanup_interval_s
            try:
                self.outbox.purge(now=self.disk_full)
                self.outbox.recover()
            except OutboxFull:
                raise
            except sqlite3.DatabaseError as exc:
                if repair.is_damaged(exc):
                    raise  # set aside and rebuilt by step()
                log.exception("outbox housekeeping failed")
            except Exception:  # never let housekeeping stop uploads
                log.exception("outbox housekeeping failed")
        client = self._get_client()
        if client is not None:
            result = self.outbox.drain_once(client, should_stop=self._stop.is_set)
            self.counters["uploaded"] += result.uploaded
            self.counters["retried"] += result.retried
            self.counters["parked"] += result.parked
            if result.uploaded and self.disk_full:
                self._purge_sent()
            if result.unreachable:
                self._streak += 1
                self.last_error = (self.outbox.status().get("last_error") or {}) or None
                self._drop_client()  # re-resolve the center next time
            elif result.attempted:
                self._streak = 0
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + self.heartbeat_interval_s
            self.send_heartbeat()
        return self._sleep_for()

    def _sleep_for(self) -> float:
        waits = [self.idle_poll_s, max(0.0, self._next_heartbeat - time.monotonic()),
                 max(0.0, self._next_cleanup - time.monotonic())]
        due = self.outbox.next_due_in()
        if due is not None:
            waits.append(due)
        delay = min(waits)
        if self._streak:
            # The center is away: wait our own back-off even if items are "due",
            # otherwise a queue of due items would spin against a dead socket.
            delay = max(delay, self.outbox.policy.backoff(self._streak))
        return delay

    def send_heartbeat(self) -> bool:
        client = self._get_client()
        if client is None:
            self.counters["heartbeats_failed"] += 1
            return False
        try:
            health = self.health()
        except Exception as exc:
            health = {"upload_worker": "ok", "health_error": type(exc).__name__}
        if "outbox" not in health:  # the center's /metrics alerts on an old backlog
            health = {**health, "outbox": outbox_health(self.outbox)}
        counters = dict(self.counters)
        try:
            client.heartbeat(health, counters, self.outbox.depth(), self.version)
        except (CenterUnreachable, CenterRefused) as exc:
            self.counters["heartbeats_failed"] += 1
            log.debug("heartbeat failed: %s", exc.code)
            if isinstance(exc, CenterUnreachable):
                self._drop_client()
            return False
        self.counters["heartbeats_ok"] += 1
        self._streak = 0  # the center is back: new photos go at once again
        return True
