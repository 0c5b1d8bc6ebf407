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
late). Queued work lives in the database (``check_state``), so a restart picks
up where it stopped, and the review console shows "check pending" until
the report is there.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from center import schema as t
from center.db import Database
from center.storage import PhotoStore

log = logging.getLogger("center.checks")

QUEUED, RUNNING, DONE, UNAVAILABLE, OFF = "queued", "running", "done", "unavailable", "off"


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
    try:
        data = photo if isinstance(photo, bytes) else Path(photo).read_bytes()
        report = check_jpeg(data, load_spec(spec_name))
        out = report.as_dict()
    except Exception as exc:  # noqa: BLE001 - a crash in the checker must not lose the version
        return {"unavailable": f"check failed: {type(exc).__name__}: {exc}"[:300]}
    if prev is not None:
        out["retake"] = _compare_faces(data, prev, face_threshold)
    return {"report": out, "ok": bool(report.ok)}


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
    """Claims queued versions and runs them through a small process pool."""

    def __init__(
        self,
        db: Database,
        store: PhotoStore,
        workers: int,
        quiet_seconds: float = 0.5,
        max_defer_seconds: float = 30.0,
        face_threshold: float = 0.04,
        spec_name: str | None = None,
    ) -> None:
        self.db = db
        self.face_threshold = face_threshold
        self.spec_name = spec_name
        self.store = store
        self.workers = workers
        self.quiet_seconds = quiet_seconds
        self.max_defer_seconds = max_defer_seconds
        self._last_upload = 0.0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ProcessPoolExecutor | None = None

    @property
    def enabled(self) -> bool:
        return self.workers > 0

    def start(self) -> None:
        if not self.enabled:
            return
        with self.db.write() as conn:  # a previous run may have died mid-check
            conn.execute(
                update(t.photo_versions)
                .where(t.photo_versions.c.check_state == RUNNING)
                .values(check_state=QUEUED)
            )
        self._thread = threading.Thread(target=self._loop, name="center-checks", daemon=True)
        self._thread.start()

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
        """End the loop and the worker processes (a running check is abandoned: the
        version stays ``running`` and goes back to the queue on the next start)."""
        self._stop.set()
        self._wake.set()
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

    def _claim(self, limit: int) -> list[tuple[int, str, str | None]]:
        """Queued versions (id, sha256, sha256 of the version before it or None)."""
        pv = t.photo_versions
        prev = pv.alias("prev")
        with self.db.read() as conn:
            rows = conn.execute(
                select(pv.c.id, pv.c.sha256, prev.c.sha256)
                .join(
                    prev,
                    (prev.c.order_id == pv.c.order_id) & (prev.c.version_no == pv.c.version_no - 1),
                    isouter=True,
                )
                .where(pv.c.check_state == QUEUED)
                .order_by(pv.c.id)
                .limit(limit)
            ).all()
        claimed = []
        for vid, sha, prev_sha in rows:
            with self.db.write() as conn:
                res = conn.execute(
                    update(t.photo_versions)
                    .where(t.photo_versions.c.id == vid, t.photo_versions.c.check_state == QUEUED)
                    .values(check_state=RUNNING)
                )
            if res.rowcount == 1:
                claimed.append((vid, sha, prev_sha))
        return claimed

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=5.0)
            self._wake.clear()
            while not self._stop.is_set():
                self._wait_for_quiet()
                batch = self._claim(self.workers * 2)
                if not batch:
                    break
                if self._pool is None:
                    self._pool = ProcessPoolExecutor(
                        self.workers, mp_context=get_context("spawn"), initializer=_lower_priority
                    )
                futures: list[tuple[int, Future]] = [
                    (vid, self._submit(sha, prev)) for vid, sha, prev in batch
                ]
                for vid, fut in futures:
                    try:
                        result = fut.result()
                    except Exception as exc:  # noqa: BLE001 - a dead worker: record, move on
                        result = {"unavailable": f"worker failed: {type(exc).__name__}"}
                        if self._pool is not None:
                            self._pool.shutdown(wait=False, cancel_futures=True)
                        self._pool = None  # a fresh pool for the next version
                    self._record(vid, result)

    def _submit(self, sha: str, prev_sha: str | None = None) -> Future:
        """The photo's bytes (and its predecessor's) go to the checker (the store may
        be remote)."""
        assert self._pool is not None
        try:
            data = self.store.get(sha)
            prev = self.store.get(prev_sha) if prev_sha else None
        except Exception as exc:  # noqa: BLE001 - unreadable now: record why, move on
            done: Future = Future()
            done.set_result({"unavailable": f"photo unreadable: {type(exc).__name__}"})
            return done
        return self._pool.submit(run_check, data, prev, self.face_threshold, self.spec_name)

    def _record(self, vid: int, result: dict[str, Any]) -> None:
        if "report" in result:
            values = {
                "check_state": DONE,
                "check_ok": result["ok"],
                "check_report": json.dumps(result["report"], ensure_ascii=False),
            }
        else:
            log.warning(
                "compliance check of version %s unavailable: %s", vid, result["unavailable"]
            )
            values = {
                "check_state": UNAVAILABLE,
                "check_report": json.dumps({"unavailable": result["unavailable"]}),
            }
        with self.db.write() as conn:
            conn.execute(
                update(t.photo_versions).where(t.photo_versions.c.id == vid).values(**values)
            )
