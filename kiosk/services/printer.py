"""Reprints: render the sheet, print it, follow the job, in the printer thread.

Progress goes to the UI as ``queued`` → ``printing`` → ``done``, with
``attention`` (and an i18n key for what is wrong, e.g. out of paper) while the
queue is stopped: the job stays in CUPS and finishes once the operator refills
and presses "resume", so nothing is printed twice.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.services.post import Post
from kiosk.services.status import Status, missing
from kiosk.services.worker import Worker

log = logging.getLogger(__name__)

# CUPS printer-state-reasons (prefixes) → i18n key of what the student is told.
REASONS = {
    "media-empty": "printer_media_empty",
    "media-needed": "printer_media_empty",
    "marker-supply-empty": "printer_ribbon",
    "toner-empty": "printer_ribbon",
    "offline": "printer_offline",
    "connecting-to-device": "printer_offline",
}


def attention_key(state: Any) -> str | None:
    """The i18n key when the printer needs a person, else None."""
    reasons = [str(r) for r in (getattr(state, "reasons", None) or [])]
    for reason in reasons:
        for prefix, key in REASONS.items():
            if reason.startswith(prefix):
                return key
    stopped = getattr(state, "stopped", None)
    if stopped is None:
        stopped = str(getattr(state, "state", "")).lower() in ("stopped", "5")
    if stopped or getattr(state, "paused", False):
        return "printer_other"
    return None


class PrinterWorker:
    def __init__(self, make_service: Callable[[], Any] | None, post: Post,
                 media: str = "4x6", job_timeout: float = 600.0, poll: float = 0.3) -> None:
        self._make_service = make_service
        self.service: Any = None
        self.post = post
        self.media = media
        self.job_timeout = job_timeout
        self.poll = poll
        self.worker = Worker("printer")
        self._status = Status("unknown", "not started") if make_service else missing("printer")
        self.spool = Path(tempfile.mkdtemp(prefix="kiosk-print-"))

    def _svc(self) -> Any:
        if self.service is None:
            if self._make_service is None:
                raise RuntimeError("no printer configured")
            self.service = self._make_service()
        return self.service

    def start(self) -> PrinterWorker:
        self.worker.submit(self._refresh)
        return self

    def _refresh(self) -> None:
        try:
            state = self._svc().state()
        except Exception as exc:
            self._status = Status("failed", f"{type(exc).__name__}: {exc}")
            return
        key = attention_key(state)
        reasons = ",".join(str(r) for r in (getattr(state, "reasons", None) or []))
        self._status = Status("degraded" if key else "ok", reasons or "ready")

    def refresh(self) -> None:
        self.worker.submit(self._refresh)

    def health(self) -> Status:
        return self._status

    def print_sheet(self, render: Callable[[], Any], copies: int,
                    progress: Callable[[str, str], None]) -> None:
        """``render()`` → a Sheet (``.pdf()``) in this thread, then print and follow it."""

        def job() -> None:
            path = self.spool / f"sheet-{time.monotonic_ns()}.pdf"
            try:
                sheet = render()
                path.write_bytes(sheet.pdf())
                job_id = self._svc().submit(path, copies, self.media)
            except Exception as exc:
                log.warning("print failed before the printer: %s", exc)
                self.post(progress, "failed", "printer_other")
                return
            self.post(progress, "printing", "")
            try:
                self._follow(job_id, progress)
            finally:
                path.unlink(missing_ok=True)
                self._refresh()

        self.worker.submit(job)

    def _follow(self, job_id: Any, progress: Callable[[str, str], None]) -> None:
        svc = self._svc()
        deadline = time.monotonic() + self.job_timeout
        told = ""
        while time.monotonic() < deadline:
            try:
                done = svc.wait(job_id, self.poll)
            except Exception as exc:
                log.warning("print job failed: %s", exc)
                self.post(progress, "failed", "printer_other")
                return
            if done and _finished(done):
                self.post(progress, "done", "")
                return
            key = attention_key(svc.state())
            news = f"attention:{key}" if key else "printing"
            if news != told:
                told = news
                self.post(progress, "attention" if key else "printing", key or "")
        self.post(progress, "failed", "printer_other")

    def resume(self) -> None:
        def job() -> None:
            try:
                self._svc().resume()
            except Exception as exc:
                log.warning("resume failed: %s", exc)
            self._refresh()

        self.worker.submit(job)

    def test_print(self, render: Callable[[], Any], done: Callable[[str, str], None]) -> None:
        self.print_sheet(render, 1, done)

    def stop(self) -> None:
        self.worker.stop()


def _finished(result: Any) -> bool:
    """``PrintService.wait`` answered: a completed job (True, a state, or an object)."""
    if result is True:
        return True
    state = getattr(result, "state", result)
    text = str(state).lower()
    return text in ("completed", "done", "9") or getattr(result, "completed", False) is True
