"""The camera thread: preview frames (downscaled), live guidance, QR scanning, stills.

All camera calls happen in this one thread, so a hung camera freezes only
this thread (``hardware.cameras`` answers within its timeouts anyway). Frames
are downscaled here to the displayed width, so the UI thread uploads a small
texture and never resizes. The preview is stored unmirrored: mirroring is a
texture flip on screen, never a change of the data.

Guidance runs in a thread of its own on the newest frame only: when frames
come faster than it can analyse (a Raspberry Pi), it skips frames instead
of holding the preview back, and each preview frame carries the newest
advice there is.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from hardware.health import Health
from kiosk.services.frames import Frame, LatestFrame
from kiosk.services.post import Post

log = logging.getLogger(__name__)

MODES = ("off", "scan", "guide")


def _downscale(frame: np.ndarray, width: int) -> np.ndarray:
    import cv2

    h, w = frame.shape[:2]
    if w <= width:
        return np.ascontiguousarray(frame)
    height = max(1, round(h * width / w))
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)


def _rgba(frame: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(frame, cv2.COLOR_RGB2RGBA)


def _geometry(camera: Any, frame: np.ndarray, small: np.ndarray) -> Any:
    """The camera's picture geometry in ``small``'s pixels, or None when it gives none."""
    try:
        g = camera.geometry() if hasattr(camera, "geometry") else None
    except Exception:  # noqa: BLE001 - unknown geometry: guidance assumes the whole frame
        return None
    if g is None:
        return None
    if tuple(g.preview_size) != (frame.shape[1], frame.shape[0]):
        return None  # the geometry is of another stream size than this frame
    return g.resized(small.shape[1], small.shape[0])


class GuideThread:
    """Live guidance beside the camera thread: always on the newest frame, never in its way.

    ``submit`` replaces the waiting frame (a frame guidance had no time for is
    dropped, never queued) and returns at once; ``advice`` is the newest
    result. The guide's rate is thus whatever the CPU allows, and the preview
    keeps the camera's rate.
    """

    def __init__(self, guide: Any) -> None:
        self.guide = guide
        self.advice: Any = None
        self.analysed = 0
        self.submitted = 0
        self._pending: tuple[np.ndarray, Any, float] | None = None
        self._reset = False
        self._cv = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="guidance", daemon=True)
        self._thread.start()

    def submit(self, small: np.ndarray, geometry: Any, still_scale: float) -> None:
        with self._cv:
            self._pending = (small, geometry, still_scale)
            self.submitted += 1
            self._cv.notify()

    def reset(self) -> None:
        """Forget the student (mode change): done by the guidance thread before its next frame."""
        with self._cv:
            self._pending = None
            self._reset = True
            self.advice = None

    def stop(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify()
        self._thread.join(2.0)

    def _run(self) -> None:
        while True:
            with self._cv:
                while self._pending is None and not self._stop:
                    self._cv.wait()
                if self._stop:
                    return
                small, geometry, still_scale = self._pending  # type: ignore[misc]
                self._pending = None
                reset, self._reset = self._reset, False
            if reset and hasattr(self.guide, "reset"):
                self.guide.reset()
            self.guide.geometry = geometry
            self.guide.still_scale = still_scale
            try:
                advice = self.guide.update(small)
            except Exception as exc:  # noqa: BLE001 - one bad frame must not end guidance
                log.warning("guidance failed on a frame: %s", exc)
                continue
            with self._cv:
                if not self._reset:
                    self.advice = advice
                    self.analysed += 1


class CameraWorker:
    def __init__(
        self,
        open_camera: Callable[[], Any],
        post: Post,
        slot: LatestFrame | None = None,
        preview_width: int = 640,
        fps: float = 30.0,
        make_guide: Callable[[], Any] | None = None,
        decoder: Any = None,
        scan_every: int = 3,
        preview_timeout: float = 1.0,
        capture_timeout: float = 10.0,
    ) -> None:
        self._open = open_camera
        self.post = post
        self.slot = slot or LatestFrame()
        self.preview_width = preview_width
        self.period = 1.0 / max(1.0, fps)
        self._make_guide = make_guide
        self.guide: Any = None
        self.decoder = decoder
        self.scan_every = max(1, scan_every)
        self.preview_timeout = preview_timeout
        self.capture_timeout = capture_timeout
        self.mode = "off"
        self.on_qr: Callable[[bytes], None] | None = None
        self.on_health: Callable[[Health], None] | None = None
        self._capture: tuple[Callable[[bytes], None], Callable[[Exception], None]] | None = None
        self._reconnect = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.camera: Any = None
        self.frames = 0
        self._status = Health("unknown", "not started")
        self._last_qr: tuple[bytes, float] = (b"", 0.0)
        self._thread = threading.Thread(target=self._run, name="camera", daemon=True)

    # -- control (any thread) ---------------------------------------------
    def start(self) -> CameraWorker:
        self._thread.start()
        return self

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(mode)
        if mode != self.mode:
            self.mode = mode
            if mode != "guide" and self.guide is not None:
                self.guide.reset()
            self.slot.clear()
            self._wake.set()

    def capture(self, ok: Callable[[bytes], None], err: Callable[[Exception], None]) -> None:
        """Take a still in the camera thread; ``ok``/``err`` are posted to the UI thread."""
        self._capture = (ok, err)
        self._wake.set()

    def reconnect(self) -> None:
        self._reconnect = True
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(3.0)
        if self.guide is not None:
            self.guide.stop()
        if self.camera is not None:
            try:
                self.camera.close()
            except Exception:  # closing a broken camera must not stop the shutdown
                log.debug("camera close failed", exc_info=True)

    def health(self) -> Health:
        return self._status

    # -- the thread ---------------------------------------------------------
    def _set_status(self, status: Health) -> None:
        if status.state != self._status.state and self.on_health:
            self.post(self.on_health, status)
        self._status = status

    def _check_health(self) -> None:
        try:
            self._set_status(self.camera.health())
        except Exception as exc:
            self._set_status(Health("failed", f"{type(exc).__name__}: {exc}"))

    def _run(self) -> None:
        try:
            self.camera = self._open()
        except Exception as exc:
            self._set_status(Health("failed", f"cannot open camera: {exc}",
                                    getattr(exc, "zh", ""), getattr(exc, "en", "")))
            return
        if self._make_guide is not None:
            try:
                self.guide = GuideThread(self._make_guide())
            except Exception as exc:
                log.warning("live guidance unavailable: %s", exc)
        self._check_health()
        seq = 0
        next_t = time.monotonic()
        while not self._stop.is_set():
            if self._reconnect:
                self._reconnect = False
                self._do_reconnect()
            if self._capture is not None:
                self._do_capture()
                continue
            if self.mode == "off":
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            now = time.monotonic()
            if now < next_t:
                self._wake.wait(next_t - now)
                self._wake.clear()
                continue
            next_t = max(next_t + self.period, now)
            try:
                frame = self.camera.preview(self.preview_timeout)
            except Exception as exc:
                log.debug("preview failed: %s", exc)
                self._check_health()
                self._wake.wait(0.2)
                continue
            seq += 1
            self._frame(seq, frame)
            if seq % 30 == 0:
                self._check_health()

    def _frame(self, seq: int, frame: np.ndarray) -> None:
        mode = self.mode
        small = _downscale(frame, self.preview_width)
        advice = None
        if mode == "guide" and self.guide is not None:
            # Guidance sees the downscaled preview but judges the still: where the
            # still's picture lies in the frame and how many still pixels a preview
            # pixel stands for come from the camera (letterbox bars, a cropped band,
            # a DSLR's larger still), never from an assumed ratio.
            geometry = _geometry(self.camera, frame, small)
            self.guide.submit(small, geometry, frame.shape[1] / small.shape[1])
            advice = self.guide.advice
        self.slot.put(Frame(seq, small, advice, time.monotonic(), _rgba(small)))
        self.frames += 1
        if mode == "scan" and self.decoder is not None and seq % self.scan_every == 0:
            self._scan(frame)

    def _scan(self, frame: np.ndarray) -> None:
        try:
            found = self.decoder.decode(frame)
        except Exception as exc:
            log.debug("QR decode failed: %s", exc)
            return
        now = time.monotonic()
        for payload in found:
            last, when = self._last_qr
            if payload == last and now - when < 4.0:
                continue  # the same code held in front of the camera
            self._last_qr = (payload, now)
            if self.on_qr:
                self.post(self.on_qr, payload)

    def forget_last_qr(self) -> None:
        self._last_qr = (b"", 0.0)

    def _do_capture(self) -> None:
        ok, err = self._capture  # type: ignore[misc]
        self._capture = None
        try:
            jpeg = self.camera.capture(self.capture_timeout)
        except Exception as exc:
            self._check_health()
            self.post(err, exc)
            return
        self.post(ok, jpeg)

    def _do_reconnect(self) -> None:
        try:
            self.camera.close()
        except Exception:
            log.debug("close before reconnect failed", exc_info=True)
        try:
            self.camera = self._open()
        except Exception as exc:
            self._set_status(Health("failed", f"reconnect failed: {exc}"))
            return
        self._check_health()
