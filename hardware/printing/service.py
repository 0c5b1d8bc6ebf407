"""Printing through CUPS (pycups): one job at a time, followed to the end.

The booth prints a student's reprint sheet on 6-inch paper. What matters:
the sheet must come out at its exact size (no scaling: ``print-scaling=none``,
``fit-to-page=false``); a job that makes no progress is cancelled rather than
left to print an hour later; a queue paused for paper is resumed from the
kiosk after the operator refills; and a restart of the kiosk neither loses
nor doubles a print (:mod:`hardware.printing.journal`).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardware.errors import DeviceError
from hardware.health import Health
from hardware.printing.journal import Journal
from hardware.printing.reasons import PrinterState, interpret
from hardware.words import words

log = logging.getLogger(__name__)

# IPP job-state values
PENDING, HELD, PROCESSING, STOPPED, CANCELED, ABORTED, COMPLETED = 3, 4, 5, 6, 7, 8, 9
ACTIVE_STATES = (PENDING, HELD, PROCESSING, STOPPED)
JOB_ATTRS = [
    "job-state", "job-state-reasons", "job-printer-state-message", "job-name",
    "job-media-sheets-completed", "job-impressions-completed", "time-at-processing",
]
PRINTER_ATTRS = [
    "printer-state", "printer-state-reasons", "printer-state-message",
    "printer-is-accepting-jobs", "marker-levels", "marker-high-levels",
]


class PrintError(DeviceError):
    """A print that did not complete; ``state`` is the printer's at that moment."""

    def __init__(self, code: str, zh: str, en: str, detail: str, job_id: int | None,
                 state: PrinterState | None = None, pending: bool = False) -> None:
        super().__init__(code, zh, en, detail)
        self.job_id = job_id
        self.state = state
        self.pending = pending  # the job is still queued and prints after resume()


@dataclass(frozen=True)
class JobResult:
    job_id: int
    key: str
    state: str  # completed
    seconds: float


class PrintService:
    """``PrintService(queue, journal_path, server=None)``; see the module doc."""

    def __init__(
        self,
        queue: str,
        journal_path: str | Path,
        server: str | None = None,
        *,
        media: str = "",
        extra_options: dict[str, str] | None = None,
        stall_timeout: float = 90.0,
        busy_timeout: float = 300.0,
        poll_interval: float = 0.25,
    ) -> None:
        self.queue = queue
        self.server = server or None
        self.journal = Journal(journal_path)
        self.media = media
        self.extra_options = dict(extra_options or {})
        self.stall_timeout = stall_timeout
        self.busy_timeout = busy_timeout
        self.poll = poll_interval
        self._lock = threading.RLock()
        # job id -> (last progress signature, when it last changed): kept across wait()
        # calls, since callers may follow a job with many short waits.
        self._progress: dict[int, tuple[tuple[Any, ...] | None, float]] = {}

    # -- CUPS plumbing ------------------------------------------------------
    def _conn(self) -> Any:
        import cups

        try:
            return cups.Connection(host=self.server) if self.server else cups.Connection()
        except RuntimeError as exc:
            raise DeviceError(
                "cups_unreachable",
                *words("cups_unreachable"),
                f"cannot connect to CUPS at {self.server or 'default server'}: {exc}",
            ) from None

    def _job(self, conn: Any, job_id: int) -> dict[str, Any] | None:
        import cups

        try:
            attrs: dict[str, Any] = conn.getJobAttributes(job_id, requested_attributes=JOB_ATTRS)
            return attrs
        except cups.IPPError:
            return None  # purged from history

    def state(self) -> PrinterState:
        import cups

        try:
            attrs = self._conn().getPrinterAttributes(self.queue, requested_attributes=PRINTER_ATTRS)
        except cups.IPPError:
            return interpret(None)
        except DeviceError as exc:
            return PrinterState("offline", "missing", False, exc.zh, exc.en, [], exc.detail)
        return interpret(attrs)

    def health(self) -> Health:
        return self.state().health(self.queue)

    def resume(self) -> PrinterState:
        """After the operator refilled paper or ribbon: enable and accept again.

        CUPS leaves a queue stopped by its backend paused until someone does this;
        the job that hit the empty tray is still queued and prints now.
        """
        conn = self._conn()
        conn.enablePrinter(self.queue)
        conn.acceptJobs(self.queue)
        log.info("printer %s resumed", self.queue)
        return self.state()  # may still show the old reason until the backend clears it

    def cancel(self, job_id: int, reason: str = "cancelled") -> None:
        import cups

        try:
            self._conn().cancelJob(job_id, purge_job=False)
        except cups.IPPError as exc:
            log.warning("cancel job %d: %s", job_id, exc)
        key = self.journal.key_of(job_id)
        if key:
            self.journal.update(key, state="cancelled", reason=reason)

    # -- submitting ---------------------------------------------------------
    @staticmethod
    def default_key(path: Path, copies: int, media: str) -> str:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        return f"{path.name}:{digest}:{copies}:{media}"

    def _options(self, copies: int, media: str) -> dict[str, str]:
        opts = {
            "copies": str(copies),
            "print-scaling": "none",
            "fit-to-page": "false",
            "scaling": "100",
        }
        if media or self.media:
            opts["media"] = media or self.media
        opts.update(self.extra_options)
        return opts

    def _find_by_title(self, conn: Any, title: str) -> int | None:
        # pycups returns nothing unless job-id is among the requested attributes.
        jobs = conn.getJobs(which_jobs="all", requested_attributes=["job-id", "job-name"])
        found = [jid for jid, a in jobs.items() if a.get("job-name") == title]
        return max(found) if found else None

    def _previous(self, conn: Any, key: str, title: str) -> int | None:
        """The job already submitted for ``key`` that is printing or printed, if any."""
        entry = self.journal.get(key)
        if not entry:
            return None
        job_id = entry.get("job_id")
        if entry.get("state") == "submitting" and job_id is None:
            job_id = self._find_by_title(conn, title)  # crashed right after printFile
            if job_id is None:
                return None
            self.journal.update(key, state="submitted", job_id=job_id)
        if job_id is None or entry.get("state") in ("failed", "cancelled"):
            return None
        attrs = self._job(conn, int(job_id))
        if attrs is None:
            return int(job_id) if entry.get("state") == "completed" else None
        if attrs["job-state"] in (*ACTIVE_STATES, COMPLETED):
            return int(job_id)
        return None

    def _wait_idle(self, conn: Any, key: str) -> None:
        """One job at a time: wait for another key's job still in the queue."""
        deadline = time.monotonic() + self.busy_timeout
        while True:
            others = [
                (k, e) for k, e in self.journal.active().items()
                if k != key and e.get("job_id") is not None
            ]
            busy = []
            for k, e in others:
                attrs = self._job(conn, int(e["job_id"]))
                if attrs and attrs["job-state"] in ACTIVE_STATES:
                    busy.append(int(e["job_id"]))
                else:
                    self._settle(k, attrs)
            if not busy:
                return
            if time.monotonic() > deadline:
                raise PrintError(
                    "printer_busy", *words("printer_busy"),
                    f"job(s) {busy} still in queue {self.queue}", None, self.state(), False,
                )
            time.sleep(self.poll)

    def _settle(self, key: str, attrs: dict[str, Any] | None) -> None:
        if attrs is None:
            self.journal.update(key, state="unknown")
        elif attrs["job-state"] == COMPLETED:
            self.journal.update(key, state="completed")
        elif attrs["job-state"] in (CANCELED, ABORTED):
            self.journal.update(key, state="failed")

    def submit(self, path: str | Path, copies: int = 1, media: str = "", key: str = "") -> int:
        """Queue ``path``; returns the CUPS job id (the earlier one if ``key`` was sent before)."""
        import cups

        file = Path(path)
        if not file.is_file():
            raise DeviceError("no_file", *words("no_file"), f"no file {file}")
        if copies < 1:
            raise DeviceError("bad_copies", *words("bad_copies"), f"{copies}")
        key = key or self.default_key(file, copies, media)
        title = f"kiosk:{key}"
        with self._lock:
            conn = self._conn()
            earlier = self._previous(conn, key, title)
            if earlier is not None:
                log.info("print %s already submitted as job %d; not printing again", key, earlier)
                return earlier
            state = self.state()
            if not state.accepting:
                raise PrintError("not_accepting", state.zh, state.en, state.detail, None, state)
            self._wait_idle(conn, key)
            self.journal.update(key, state="submitting", job_id=None, file=str(file),
                                copies=copies, submitted=time.time())
            try:
                job_id: int = conn.printFile(self.queue, str(file), title, self._options(copies, media))
            except cups.IPPError as exc:
                self.journal.update(key, state="failed", reason=str(exc))
                st = self.state()
                zh, en = (st.zh, st.en) if not st.ok else words("print_failed")
                raise PrintError("submit_refused", zh, en,
                                 f"CUPS refused the job: {exc}", None, st) from None
            self.journal.update(key, state="submitted", job_id=job_id)
            log.info("print %s submitted as job %d on %s", key, job_id, self.queue)
            return job_id

    def pending(self) -> dict[str, dict[str, Any]]:
        """Journal entries not known to be finished (after a restart: wait for these)."""
        return self.journal.active()

    # -- following a job ----------------------------------------------------
    def wait(self, job_id: int, timeout: float = 300.0, stop_on_pause: bool = True) -> JobResult:
        """Follow ``job_id`` to completion.

        Raises ``PrintError``: ``pending=True`` when the printer stopped (paper,
        ribbon, jam, offline: the job prints after ``resume()``), or when the job
        was aborted, cancelled, or made no progress for ``stall_timeout`` seconds
        while the printer was not stopped (then it is cancelled here).
        """
        conn = self._conn()
        key = self.journal.key_of(job_id) or f"job-{job_id}"
        start = time.monotonic()
        last_sig, last_change = self._progress.get(job_id, (None, start))
        while True:
            attrs = self._job(conn, job_id)
            if attrs is None:
                raise PrintError("job_unknown", *words("job_unknown"),
                                 f"job {job_id} unknown to CUPS", job_id, self.state())
            js = attrs["job-state"]
            if js not in ACTIVE_STATES:
                self._progress.pop(job_id, None)
            if js == COMPLETED:
                self.journal.update(key, state="completed")
                return JobResult(job_id, key, "completed", time.monotonic() - start)
            if js in (CANCELED, ABORTED):
                self.journal.update(key, state="failed")
                st = self.state()
                msg = attrs.get("job-printer-state-message") or ""
                zh, en = (st.zh, st.en) if not st.ok else words("print_failed")
                word = "cancelled" if js == CANCELED else "aborted"
                raise PrintError(f"job_{word}", zh, en, f"job {job_id} {word}: {msg or '-'}",
                                 job_id, st)
            st = self.state()
            # Only a stopped queue waits for the operator; a reason seen while the job is
            # still being sent may be stale (CUPS keeps it until the backend clears it).
            if st.state == "stopped":
                self._progress[job_id] = (None, time.monotonic())  # waiting is not stalling
                if stop_on_pause:
                    raise PrintError(st.code, st.zh, st.en, f"job {job_id} waiting: {st.detail}",
                                     job_id, st, pending=True)
                last_change = time.monotonic()  # waiting for the operator is not a stall
            sig = (js, attrs.get("job-media-sheets-completed"),
                   attrs.get("job-impressions-completed"), attrs.get("job-printer-state-message"),
                   st.state)
            now = time.monotonic()
            if sig != last_sig:
                last_sig, last_change = sig, now
            self._progress[job_id] = (last_sig, last_change)
            if now - last_change > self.stall_timeout:
                self._progress.pop(job_id, None)
                self.cancel(job_id, reason="no progress")
                raise PrintError("job_stalled", *words("job_stalled"),
                                 f"job {job_id} unchanged for {self.stall_timeout:.0f} s "
                                 f"({attrs.get('job-printer-state-message') or 'no message'})",
                                 job_id, st)
            if now - start > timeout:
                raise PrintError("job_timeout", *words("job_timeout"),
                                 f"job {job_id} not done within {timeout:.0f} s", job_id, st,
                                 pending=True)
            time.sleep(self.poll)

    def print_file(self, path: str | Path, copies: int = 1, media: str = "", key: str = "",
                   timeout: float = 300.0) -> JobResult:
        job_id = self.submit(path, copies, media, key)
        return self.wait(job_id, timeout)
