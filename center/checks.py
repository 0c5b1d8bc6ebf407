"""The full compliance check of uploaded versions, off the request path.

Why asynchronous: ``kiosk.photo.check.check_jpeg`` finds the face and measures
it (face mesh, segmentation): hundreds of CPU milliseconds per photo. A center
taking 100 uploads/s on two cores cannot run it inside the request, and a
worker pool inside the request would still make every upload wait for it. The
kiosk already ran the same check before it let the student submit, so the
center's run is a second opinion for the reviewer, not the gate: uploads pass
the hard limits (``center.upload_rules``), get committed, and a
background process (SCHED_IDLE priority, its own GIL) attaches the full report to the
version, preferring moments without uploads (at most ``check_max_defer_seconds``
late). Queued work lives in the database (``check_jobs``, center/jobs.py), so
a restart picks up where it stopped, ``kiosk center worker`` processes on other
hosts can share the work, and the review console shows "check pending" until
the report is there.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Protocol

from center.db import Database
from center.jobs import Job, JobListener, JobQueue
from center.storage import PhotoStore

log = logging.getLogger("center.checks")

# photo_versions.check_state; the queue itself is center/jobs.py
QUEUED, RUNNING, DONE, UNAVAILABLE, OFF = "queued", "running", "done", "unavailable", "off"
TICK_SECONDS = 1.0  # the loop's longest wait between two ``on_tick`` calls


class CheckObserver(Protocol):
    """What a runner reports as it goes (``kiosk center worker``'s /metrics)."""

    def claimed(self, jobs: list[Job], now: float) -> None: ...

    def finished(self, outcome: str, seconds: float | None) -> None: ...


def _lower_priority() -> None:
    """Run the checker only on CPU time nobody else wants.

    SCHED_IDLE (Linux) is stronger than nice: uploads and reviews always win,
    and the backlog drains between peaks. Set before the checker's imports,
    so the threads numpy/OpenCV/TFLite start inherit it; those pools are
    also kept to one thread each.
    """
    _die_with_parent()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        try:
            os.nice(19)
        except OSError:
            pass


def _die_with_parent() -> None:
    """Linux: the kernel sends SIGTERM to this worker when the center process ends,
    however it ends (kill -9 included), so a check worker is never left behind."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(0)
    except (OSError, AttributeError):
        pass


def run_check(
    photo: bytes | str, prev: bytes | str | None = None, face_threshold: float = 0.04,
    spec_name: str | None = None,
) -> dict[str, Any]:
    """In the worker process: the full report of one photo (bytes, or a file path).

    ``spec_name`` is the center's ``upload.spec`` (a booth's ``[photo]`` table
    plays no part here).

    For a retake (``prev``: the version before it), the report also says whether
    the face has the same shape as before (``center.face_compare``).
    """
    try:
        from kiosk.photo.check import check_jpeg
        from kiosk.photo.spec import load_spec
    except Exception as exc:  # noqa: BLE001 - the photo package may be missing or broken
        return {"unavailable": f"kiosk.photo.check not importable: {type(exc).__name__}"}
    started = time.monotonic()
    try:
        data = photo if isinstance(photo, bytes) else Path(photo).read_bytes()
        report = check_jpeg(data, load_spec(spec_name))
        out = report.as_dict()
    except Exception as exc:  # noqa: BLE001 - a crash in the checker must not lose the version
        return {"unavailable": f"check failed: {type(exc).__name__}: {exc}"[:300]}
    if prev is not None:
        out["retake"] = _compare_faces(data, prev, face_threshold)
    return {"report": out, "ok": bool(report.ok), "seconds": time.monotonic() - started}


def _compare_faces(data: bytes, prev: bytes | str, threshold: float) -> dict[str, Any]:
    try:
        from center.face_compare import distance, signature

        before_data = prev if isinstance(prev, bytes) else Path(prev).read_bytes()
        now, before = signature(data), signature(before_data)
    except Exception as exc:  # noqa: BLE001 - a second opinion only: never lose the report
        return {"same_person": None, "error": type(exc).__name__}
    if now is None or before is None:
        return {"same_person": None}
    d = distance(now, before)
    return {"same_person": d <= threshold, "distance": round(d, 4), "limit": threshold}


class CheckRunner:
    """Claims check jobs (center/jobs.py) and runs them through a small process pool.

    The serving process runs one on SQLite (and on PostgreSQL unless
    ``upload.check_in_process`` is off); ``kiosk center worker`` runs one on
    its own, on any host (``run_forever``).
    """

    def __init__(
        self,
        db: Database,
        store: PhotoStore,
        workers: int,
        queue: JobQueue,
        quiet_seconds: float = 0.5,
        max_defer_seconds: float = 30.0,
        face_threshold: float = 0.04,
        poll_seconds: float = 5.0,
        sole_runner: bool = True,
        spec_name: str | None = None,
        on_tick: Callable[[], None] | None = None,
        observer: CheckObserver | None = None,
    ) -> None:
        self.db = db
        self.face_threshold = face_threshold
        self.spec_name = spec_name
        self.store = store
        self.workers = workers
        self.queue = queue
        self.quiet_seconds = quiet_seconds
        self.max_defer_seconds = max_defer_seconds
        self.poll_seconds = poll_seconds
        # the only runner of this database (SQLite): jobs left running are dead ones
        self.sole_runner = sole_runner
        self._last_upload = 0.0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ProcessPoolExecutor | None = None
        self._held: list[int] = []
        # called at least every TICK_SECONDS while the loop lives (systemd watchdog)
        self.on_tick = on_tick
        self.observer = observer
        self._listener: JobListener | None = None

    @property
    def enabled(self) -> bool:
        return self.workers > 0

    def start(self) -> None:
        """Start the loop; on PostgreSQL also LISTEN for queued jobs (any host's
        uploads), returning once the listener is in effect (bounded wait)."""
        if not self.enabled:
            return
        if self.sole_runner:  # a previous run died mid-check; no lease to wait for
            self.queue.requeue_all_running()
        self._listener = JobListener.for_database(self.db, self.wake)
        if self._listener is not None:
            self._listener.start()
        self._thread = threading.Thread(target=self._loop, name="center-checks", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A job was queued (a NOTIFY from any host): look now, without the upload
        pause ``poke`` asks for."""
        self._wake.set()

    def run_forever(self) -> None:
        """``kiosk center worker``: run until ``stop()`` (a signal handler calls it)."""
        self.start()
        self.join()

    def join(self) -> None:
        """Until the loop ends (after ``stop()``)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    def poke(self) -> None:
        """An upload arrived: there is work, and the center is busy right now."""
        self._last_upload = time.monotonic()
        self._wake.set()

    def _wait_for_quiet(self) -> None:
        """Hold the next batch while uploads keep arriving, up to max_defer_seconds.

        Even at SCHED_IDLE the checker's memory traffic slows the request path on
        a small machine; a burst of uploads is better served first. The bound
        keeps a trickle of checks going under sustained load.
        """
        start = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if now - self._last_upload >= self.quiet_seconds:
                return
            if now - start >= self.max_defer_seconds:
                return
            self._stop.wait(0.1)

    def stop(self) -> None:
        """End the loop and the worker processes; jobs in hand go back to the queue."""
        self._stop.set()
        self._wake.set()
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        pool, self._pool = self._pool, None
        if pool is not None:
            processes = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in processes:
                proc.terminate()
            for proc in processes:
                proc.join(5)
                if proc.is_alive():
                    proc.kill()
                    proc.join(1)
        if self._thread:
            self._thread.join(timeout=10)
        held, self._held = self._held, []
        try:
            self.queue.release(held)
        except Exception as exc:  # noqa: BLE001 - the lease hands them on anyway
            log.warning("could not release %d check jobs: %s", len(held), type(exc).__name__)

    def _tick(self) -> None:
        if self.on_tick is not None:
            self.on_tick()

    def _wait_for_work(self) -> None:
        """Until woken (upload, NOTIFY) or ``poll_seconds`` passed, ticking meanwhile."""
        deadline = time.monotonic() + self.poll_seconds
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or self._wake.wait(timeout=min(left, TICK_SECONDS)):
                break
            self._tick()
        self._wake.clear()

    def _loop(self) -> None:
        # look at once on start (jobs queued while no runner was up), then on
        # every wake-up or poll
        while not self._stop.is_set():
            self._tick()
            while not self._stop.is_set():
                self._wait_for_quiet()
                try:
                    batch = self.queue.claim(self.workers * 2)
                except Exception as exc:  # noqa: BLE001 - database away: try next tick
                    log.warning("claiming check jobs failed: %s", type(exc).__name__)
                    break
                if not batch:
                    break
                if self.observer is not None:
                    self.observer.claimed(batch, time.time())
                self._held = [job.id for job in batch]  # stop() hands back what is left
                self._run_batch(batch)
            self._wait_for_work()

    def _run_batch(self, batch: list[Job]) -> None:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=get_context("spawn"), initializer=_lower_priority
            )
        futures = [(job, self._submit(job.sha256, job.prev_sha256)) for job in batch]
        renew_every = max(0.2, self.queue.lease / 3)
        renewed = time.monotonic()
        for job, fut in futures:
            while True:
                try:
                    result = fut.result(timeout=min(renew_every, TICK_SECONDS))
                    break
                except FuturesTimeout:
                    if self._stop.is_set():
                        return  # stop() hands the jobs back
                    self._tick()
                    if time.monotonic() - renewed >= renew_every:
                        self._renew()
                        renewed = time.monotonic()
                except Exception as exc:  # noqa: BLE001 - a dead worker: record, move on
                    result = {"unavailable": f"worker failed: {type(exc).__name__}"}
                    if self._pool is not None:
                        self._pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = None  # a fresh pool for the next version
                    break
            if self._stop.is_set():
                return
            self._record(job, result)
            self._held.remove(job.id)
            self._tick()
            if self._held and time.monotonic() - renewed >= renew_every:
                self._renew()  # results came quickly, yet the batch took a third of a lease
                renewed = time.monotonic()

    def _renew(self) -> None:
        try:
            self.queue.renew(self._held)
        except Exception as exc:  # noqa: BLE001 - try again next period
            log.warning("renewing check leases failed: %s", type(exc).__name__)

    def _submit(self, sha: str, prev_sha: str | None = None) -> Future[dict[str, Any]]:
        """The photo's bytes (and its predecessor's) go to the checker (the store may
        be remote)."""
        assert self._pool is not None
        try:
            data = self.store.get(sha)
            prev = self.store.get(prev_sha) if prev_sha else None
        except Exception as exc:  # noqa: BLE001 - unreadable now: record why, move on
            done: Future[dict[str, Any]] = Future()
            done.set_result({"unavailable": f"photo unreadable: {type(exc).__name__}"})
            return done
        return self._pool.submit(run_check, data, prev, self.face_threshold, self.spec_name)

    def _record(self, job: Job, result: dict[str, Any]) -> None:
        if "report" in result:
            values = {
                "check_state": DONE,
                "check_ok": result["ok"],
                "check_report": json.dumps(result["report"], ensure_ascii=False),
            }
        else:
            log.warning(
                "compliance check of version %s unavailable: %s",
                job.version_id,
                result["unavailable"],
            )
            values = {
                "check_state": UNAVAILABLE,
                "check_report": json.dumps({"unavailable": result["unavailable"]}),
            }
        kept = self.queue.finish(job, values)
        if not kept:
            log.warning("check job %s was taken over by another worker; result dropped", job.id)
        if self.observer is not None:
            outcome = "lost" if not kept else "done" if "report" in result else "failed"
            self.observer.finished(outcome, result.get("seconds"))
