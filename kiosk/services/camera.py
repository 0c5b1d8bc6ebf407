"""The camera thread: preview frames (downscaled), live guidance, QR scanning, stills.

All camera calls happen in this one thread, so a hung camera freezes only
this thread (``hardware.cameras`` answers within its timeouts anyway). Frames
are downscaled here to the displayed width, so the UI thread uploads a small
texture and never resizes. The preview is stored unmirrored: mirroring is a
texture flip on screen, never a change of the data.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from kiosk.services.frames import Frame, LatestFrame
from kiosk.services.post import Post
from kiosk.services.status import Status

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
        self.on_health: Callable[[Status], None] | None = None
        self._capture: tuple[Callable[[bytes], None], Callable[[Exception], None]] | None = None
        self._reconnect = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.camera: Any = None
        self.frames = 0
        self._status = Status("unknown", "not started")
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
            if mode != "guide" and self.guide is not None and hasattr(self.guide, "reset"):
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
        if self.camera is not None:
            try:
                self.camera.close()
            except Exception:  # closing a broken camera must not stop the shutdown
                log.debug("camera close failed", exc_info=True)

    def health(self) -> Status:
        return self._status

    # -- the thread ---------------------------------------------------------
    def _set_status(self, status: Status) -> None:
        if status.state != self._status.state and self.on_health:
            self.post(self.on_health, status)
        self._status = status

    def _check_health(self) -> None:
        try:
            self._set_status(Status.of(self.camera.health()))
        except Exception as exc:
            self._set_status(Status("failed", f"{type(exc).__name__}: {exc}"))

    def _run(self) -> None:
        try:
            self.camera = self._open()
        except Exception as exc:
            self._set_status(Status("failed", f"cannot open camera: {exc}",
                                    getattr(exc, "zh", ""), getattr(exc, "en", "")))
            return
        if self._make_guide is not None:
            try:
                self.guide = self._make_guide()
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
            # Guidance sees the downscaled preview but judges the still, which has at
            # least the full frame's pixels: without this it asks to come closer
            # for "too much enlargement" that the still will not need.
            self.guide.still_scale = frame.shape[1] / small.shape[1]
            try:
                advice = self.guide.update(small)
            except Exception as exc:
                log.warning("guidance failed on a frame: %s", exc)
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
            self._set_status(Status("failed", f"reconnect failed: {exc}"))
            return
        self._check_health()
