"""A camera behind a worker thread: every request answered within its timeout.

Drivers hang (gphoto2 "PTP Device Busy"), cameras fall asleep or get
unplugged. The service owns the device on one thread; callers wait at most
their timeout and get either a frame/still or a :class:`DeviceError`. After a
failure that re-opening may cure, the device is closed and re-opened on the
next request: at once the first time, then with doubling back-off, so a dead
camera is not hammered and a re-plugged one comes back by itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from hardware.cameras.base import Camera, Frame
from hardware.cameras.geometry import PictureGeometry
from hardware.errors import DeviceError, DeviceTimeout, DeviceUnavailable
from hardware.health import Health, State
from hardware.words import words

log = logging.getLogger(__name__)


class CameraService(Camera):
    """Wraps a camera factory with restart, back-off and per-call timeouts."""

    def __init__(
        self,
        factory: Callable[[], Camera],
        name: str,
        *,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        fail_after: int = 3,
        open_now: bool = True,
        open_timeout: float = 15.0,
    ) -> None:
        self.name = name
        self._factory = factory
        self._initial = backoff_initial
        self._max = backoff_max
        self._fail_after = fail_after
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"camera-{name}")
        self._lock = threading.Lock()
        self._inflight: Future[Any] | None = None
        self._device: Camera | None = None
        self._failures = 0
        self._next_open = 0.0
        self._last_error: DeviceError | None = None
        self.recoveries = 0  # times the device worked again after failures (tests, doctor)
        if open_now:
            try:
                self._run(self._ensure_open, open_timeout, "open")
            except DeviceError:
                pass  # reported by health(); the next request retries

    # -- worker side -------------------------------------------------------
    def _ensure_open(self) -> Camera:
        if self._device is not None:
            return self._device
        wait = self._next_open - time.monotonic()
        if wait > 0:
            last = self._last_error
            raise DeviceUnavailable(
                last.code if last else "camera_unavailable",
                *((last.zh, last.en) if last else words("camera_unavailable")),
                f"reconnecting in {wait:.1f} s; last error: {last.detail if last else '-'}",
            )
        try:
            self._device = self._factory()
        except DeviceError as exc:
            self._failed(exc)
            raise
        except Exception as exc:  # noqa: BLE001 - a driver bug must not kill the booth
            err = self._wrap(exc, "open")
            self._failed(err)
            raise err from exc
        return self._device

    @staticmethod
    def _wrap(exc: Exception, action: str) -> DeviceError:
        return DeviceError(
            "camera_error",
            *words("camera_error"),
            f"{action}: {type(exc).__name__}: {exc}",
            reopen=True,
        )

    def _failed(self, exc: DeviceError) -> None:
        self._failures += 1
        self._last_error = exc
        delay = 0.0 if self._failures == 1 else self._initial * 2 ** (self._failures - 2)
        self._next_open = time.monotonic() + min(self._max, delay)
        if self._device is not None:
            try:
                self._device.close()
            except Exception:  # noqa: BLE001 - closing a lost device may fail
                pass
            self._device = None
        log.warning("camera %s: %s (failure %d)", self.name, exc.detail or exc, self._failures)

    def _call_device(self, method: str, timeout: float) -> Any:
        device = self._ensure_open()
        try:
            result = getattr(device, method)(timeout)
        except DeviceError as exc:
            if exc.reopen:
                self._failed(exc)
            raise
        except Exception as exc:  # noqa: BLE001
            err = self._wrap(exc, method)
            self._failed(err)
            raise err from exc
        if self._failures:
            log.info("camera %s back after %d failure(s)", self.name, self._failures)
            self.recoveries += 1
            self._failures = 0
            self._last_error = None
        return result

    # -- caller side -------------------------------------------------------
    def _run(self, fn: Callable[..., Any], timeout: float, what: str, *args: Any) -> Any:
        with self._lock:
            if self._inflight is not None and not self._inflight.done():
                raise DeviceError(
                    "camera_stuck",
                    *words("camera_stuck"),
                    f"{self.name}: an earlier call is still stuck in the driver",
                    reopen=True,
                )
            fut = self._pool.submit(fn, *args)
            self._inflight = fut
        try:
            return fut.result(timeout)
        except FutureTimeout:
            self._last_error = DeviceTimeout(f"{self.name} {what}", timeout)
            # When the stuck call returns, the device is presumed unusable.
            fut.add_done_callback(lambda _f: self._pool.submit(self._reset_after_hang))
            raise self._last_error from None

    def _reset_after_hang(self) -> None:
        self._failed(self._last_error or DeviceTimeout(self.name, 0))

    def preview(self, timeout: float = 1.0) -> Frame:
        frame: Frame = self._run(self._call_device, timeout, "preview", "preview", timeout)
        return frame

    def capture(self, timeout: float = 10.0) -> bytes:
        jpeg: bytes = self._run(self._call_device, timeout, "capture", "capture", timeout)
        return jpeg

    def geometry(self) -> PictureGeometry | None:
        """The device's own answer (a cheap attribute read, safe from any thread)."""
        device = self._device
        try:
            return device.geometry() if device is not None else None
        except Exception:  # noqa: BLE001 - unknown geometry is a valid answer
            return None

    def describe(self) -> dict[str, object]:
        device = self._device
        info = device.describe() if device else {"backend": self.name, "open": False}
        return {**info, "health": self.health().as_dict()}

    def health(self) -> Health:
        if self._inflight is not None and not self._inflight.done():
            busy_for = "" if self._last_error is None else f": {self._last_error.detail}"
            return Health(
                "degraded",
                f"{self.name}: a call is in progress or stuck{busy_for}",
                *words("camera_busy"),
            )
        if self._device is not None and not self._failures:
            return self._device.health()
        err = self._last_error
        wait = max(0.0, self._next_open - time.monotonic())
        state: State = "failed" if self._failures >= self._fail_after else "degraded"
        detail = f"{self.name}: {err.detail if err else 'not open'}"
        if self._device is None:
            detail += f"; next re-open in {wait:.1f} s"
        return Health(
            state,
            detail,
            *((err.zh, err.en) if err else words("camera_unavailable")),
        )

    def close(self) -> None:
        def _close() -> None:
            if self._device is not None:
                self._device.close()
                self._device = None

        try:
            self._pool.submit(_close).result(5.0)
        except FutureTimeout:
            log.warning("camera %s: close did not return", self.name)
        self._pool.shutdown(wait=False, cancel_futures=True)
