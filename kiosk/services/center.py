"""Calls to the collection center and the outbox, in worker threads.

Student-facing calls (identify, withdraw, ...) run in one thread so they keep
their order; the outbox drain runs in another so a slow upload never delays a
student at the keypad. A submitted photo always goes through the outbox: it is
on disk before the student sees "submitted", whether the center answers or not.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from hardware.health import Health
from kiosk.link.api import CenterApi
from kiosk.services.post import Post
from kiosk.services.worker import Worker

log = logging.getLogger(__name__)

T = TypeVar("T")


class CenterService:
    def __init__(
        self,
        make_client: Callable[[], CenterApi],
        outbox: Any,
        post: Post,
        drain_interval: float = 30.0,
        grants: Any = None,
    ) -> None:
        self._make_client = make_client
        self.grants = grants  # kiosk.link.grants.GrantBook shared with every client
        self.outbox = outbox
        self.post = post
        self.calls = Worker("center")
        self.drain_interval = drain_interval
        self._client: CenterApi | None = None
        self._drain_client: CenterApi | None = None
        self._stop = threading.Event()
        self._kick = threading.Event()
        self._network = Health("unknown", "no call yet")
        self._drainer = threading.Thread(target=self._drain_loop, name="outbox", daemon=True)
        self.on_uploaded: Callable[[int], None] | None = None

    def start(self) -> CenterService:
        self._drainer.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._kick.set()
        self.calls.stop()
        self._drainer.join(3.0)

    # -- calls --------------------------------------------------------------
    def _client_here(self) -> CenterApi:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def call(self, request: Callable[[CenterApi], T], ok: Callable[[T], None],
             err: Callable[[Exception], None]) -> None:
        """``request(client)`` (one API call, e.g. ``lambda c: c.withdraw(code)``) in the
        center thread; the answer posted to the UI, the network state noted."""

        def job() -> None:
            try:
                answer = request(self._client_here())
            except Exception as exc:
                self._note(exc)
                self.post(err, exc)
                return
            if self._network.state == "failed":
                self._back()
            self._network = Health("ok")
            self.post(ok, answer)

        self.calls.submit(job)

    def run(self, fn: Callable[[CenterApi], T], ok: Callable[[T], None],
            err: Callable[[Exception], None]) -> None:
        """Any work with the client in the center thread (several calls in a row)."""

        def job() -> None:
            try:
                answer = fn(self._client_here())
            except Exception as exc:
                self._note(exc)
                self.post(err, exc)
                return
            self.post(ok, answer)

        self.calls.submit(job)

    def _back(self) -> None:
        """The center answers again: queued photos go now, not after their back-off."""
        try:
            self.outbox.retry_now()
        except Exception as exc:
            log.warning("outbox retry failed: %s", type(exc).__name__)
        self._kick.set()

    def _note(self, exc: Exception) -> None:
        if getattr(exc, "code", "") == "center_unreachable":
            self._network = Health("failed", getattr(exc, "detail", str(exc)),
                                   getattr(exc, "zh", ""), getattr(exc, "en", ""))

    def submit(self, code: str, jpeg: bytes, key: str,
               done: Callable[[dict[str, Any] | None, bool], None],
               err: Callable[[Exception], None]) -> None:
        """Queue durably, then try to send it now; ``done(order, queued)``."""

        def job() -> None:
            ticket = self._upload_ticket(code)
            try:
                item_id = self.outbox.enqueue(code, jpeg, key,
                                              **({"upload_ticket": ticket} if ticket else {}))
            except Exception as exc:  # disk full or broken: the student must know
                self.post(err, exc)
                return
            try:
                result = self.outbox.drain_once(self._client_here())
            except Exception as exc:
                log.warning("upload after submit failed: %s", type(exc).__name__)
                self.post(done, None, True)
                return
            answer = result.answers.get(item_id)
            if answer is not None:
                self._network = Health("ok")
                self.post(done, answer.get("order"), False)
                return
            item = self.outbox.item(item_id) or {}
            error = item.get("last_error") or {}
            if item.get("state") == "parked" and error.get("code") == "order_locked":
                from kiosk.errors import KioskError

                self.post(err, KioskError("order_locked", error.get("zh", ""),
                                          error.get("en", ""), "order locked"))
                return
            if result.unreachable:
                self._network = Health("failed", "center unreachable")
            self.post(done, None, True)

        self.calls.submit(job)

    def _upload_ticket(self, code: str) -> str | None:
        """The ticket identify gave for ``code``: from the booth's book, else the client's."""
        book = self.grants
        if book is None:
            book = getattr(self._client, "grants", None)
        return book.upload_ticket(code) if book is not None else None

    def end_grants(self) -> None:
        """The student's session ended: end the grants at the center (in the center
        thread, after the session's own calls); they are forgotten here either way."""

        def job() -> None:
            try:
                self._client_here().end_grants()
            except Exception as exc:  # unreachable: the grants expire on their own
                log.info("grants not ended at the center: %s", type(exc).__name__)
                if self.grants is not None:
                    self.grants.take_all()

        if self.grants is None or len(self.grants):
            self.calls.submit(job)

    # -- the outbox ---------------------------------------------------------
    def kick(self) -> None:
        """Operator: try the queue now."""
        try:
            self.outbox.retry_parked()
            self.outbox.retry_now()
        finally:
            self._kick.set()

    def _drain_loop(self) -> None:
        while not self._stop.is_set():
            self._kick.wait(self.drain_interval)
            self._kick.clear()
            if self._stop.is_set():
                return
            try:
                if self._drain_client is None:
                    self._drain_client = self._make_client()
                result = self.outbox.drain_once(self._drain_client,
                                                should_stop=self._stop.is_set)
                if result.uploaded:  # the operator panel shows the center back
                    self._network = Health("ok")
                    if self.on_uploaded:
                        self.post(self.on_uploaded, result.uploaded)
                elif result.unreachable:
                    self._network = Health("failed", "center unreachable")
            except Exception as exc:
                log.warning("outbox drain failed: %s", type(exc).__name__)

    def depth(self) -> int:
        try:
            return int(self.outbox.depth())
        except Exception:
            return -1

    def network(self) -> Health:
        return self._network

    def outbox_status(self) -> Health:
        n = self.depth()
        if n < 0:
            return Health("failed", "outbox unreadable")
        return Health("ok" if n == 0 else "degraded", f"{n} waiting")
