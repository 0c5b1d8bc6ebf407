"""Reprints: render the sheet, print it, follow the job, in the printer thread.

Progress goes to the UI as ``queued`` → ``printing`` → ``done``, with
``attention`` (and an i18n key for what is wrong, e.g. out of paper) while the
queue is stopped: the job stays in CUPS and finishes once the operator refills
and presses "resume", so nothing is printed twice.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hardware.health import Health, missing
from kiosk.services.post import Post
from kiosk.services.worker import Worker

log = logging.getLogger(__name__)

# PrinterState.code (hardware.printing) → i18n key of what the student is told.
CODES = {
    "out_of_paper": "printer_media_empty",
    "out_of_ribbon": "printer_ribbon",
    "offline": "printer_offline",
    "missing": "printer_offline",
}


def attention_key(state: Any) -> str | None:
    """The i18n key when the printer needs a person (``PrinterState.ok`` False), else None."""
    if state is None or getattr(state, "ok", True):
        return None
    return CODES.get(str(getattr(state, "code", "")), "printer_other")


class PrinterWorker:
    def __init__(self, make_service: Callable[[], Any] | None, post: Post,
                 media: str = "4x6", job_timeout: float = 600.0, poll: float = 0.3,
                 on_printed: Callable[[str], None] | None = None) -> None:
        self._make_service = make_service
        self.on_printed = on_printed  # told the reprint number once its sheet is out
        self.service: Any = None
        self.post = post
        self.media = media
        self.job_timeout = job_timeout
        self.poll = poll
        self.worker = Worker("printer")
        self._status = Health("unknown", "not started") if make_service else missing("printer")
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
            self._status = self._svc().health()
        except Exception as exc:
            self._status = Health("failed", f"{type(exc).__name__}: {exc}")

    def refresh(self) -> None:
        self.worker.submit(self._refresh)

    def health(self) -> Health:
        return self._status

    def print_sheet(self, render: Callable[[], Any], copies: int,
                    progress: Callable[[str, str], None]) -> None:
        """``render()`` → a Sheet (``.pdf()``) or ``(sheet, reprint_no)`` in this thread,
        then print and follow it.

        The reprint order number is the print journal's key
        (``hardware.printing.PrintService.submit(key=...)``): if the kiosk restarts
        after CUPS took the job and the same order is sent again, the journal finds
        that job instead of printing the sheet a second time. Without a number (the
        center was unreachable, a test page) the journal keys on the file's content.
        """

        def job() -> None:
            path = self.spool / f"sheet-{time.monotonic_ns()}.pdf"
            try:
                made = render()
                sheet, key = made if isinstance(made, tuple) else (made, "")
                path.write_bytes(sheet.pdf())
                job_id = self._svc().submit(path, copies, self.media, key=str(key or ""))
            except Exception as exc:
                log.warning("print failed before the printer: %s", exc)
                self.post(progress, "failed", "printer_other")
                return
            self.post(progress, "printing", "")
            try:
                done = self._follow(job_id, progress)
            finally:
                path.unlink(missing_ok=True)
                self._refresh()
            if done and key and self.on_printed:
                self.on_printed(str(key))

        self.worker.submit(job)

    def _follow(self, job_id: Any, progress: Callable[[str, str], None]) -> bool:
        """Follow the job; a stopped printer is "attention" until the operator resumes it.

        True once the sheet is printed.
        """
        svc = self._svc()
        deadline = time.monotonic() + self.job_timeout
        told = "printing"
        while time.monotonic() < deadline:
            try:
                svc.wait(job_id, timeout=max(1.0, self.poll * 4), stop_on_pause=True)
            except Exception as exc:
                if not getattr(exc, "pending", False):
                    log.warning("print job failed: %s", getattr(exc, "detail", exc))
                    self.post(progress, "failed", "printer_other")
                    return False
                key = attention_key(getattr(exc, "state", None) or svc.state())
                news = f"attention:{key}" if key else "printing"
                if news != told:
                    told = news
                    self._refresh()
                    self.post(progress, "attention" if key else "printing", key or "")
                time.sleep(self.poll)
                continue
            self.post(progress, "done", "")
            return True
        self.post(progress, "failed", "printer_other")
        return False

    def resume(self) -> None:
        """Operator after a refill. Its own short thread: the printer thread may be
        following the very job that waits for this."""

        def job() -> None:
            try:
                self._svc().resume()
            except Exception as exc:
                log.warning("resume failed: %s", exc)
            self._refresh()

        threading.Thread(target=job, name="printer-resume", daemon=True).start()

    def test_print(self, render: Callable[[], Any], done: Callable[[str, str], None]) -> None:
        self.print_sheet(render, 1, done)

    def stop(self) -> None:
        self.worker.stop()
