"""A UVC webcam through OpenCV (V4L2 on Linux), or a video file standing in for one.

Resolution, frame rate and exposure come from config. A video file is played
at its own rate and looped, so the same code path can be tested without a
device. The still is the current frame encoded as JPEG, never flipped.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

import cv2

from hardware.cameras.base import Camera, Frame
from hardware.cameras.geometry import PictureGeometry
from hardware.cameras.video import VideoClip
from hardware.errors import DeviceError
from hardware.health import Health, healthy
from hardware.words import words


def _device_arg(device: object) -> int | str:
    text = str(device).strip()
    return int(text) if text.isdigit() else text


def list_devices() -> list[str]:
    """V4L2 capture nodes present on this machine."""
    return sorted(glob.glob("/dev/video*"))


def _not_found(detail: str) -> DeviceError:
    return DeviceError(
        "webcam_missing",
        *words("webcam_missing"),
        detail,
        reopen=True,
    )


class OpenCVCamera(Camera):
    name = "opencv"

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        opts = dict(options or {})
        self.device = _device_arg(opts.get("device", 0))
        self.quality = int(opts.get("jpeg_quality", 95))
        self._clip: VideoClip | None = None
        self._cap: cv2.VideoCapture | None = None
        if isinstance(self.device, str) and Path(self.device).is_file():
            self._clip = VideoClip(self.device, fps=float(opts.get("fps") or 0.0), loop=True)
            return
        cap = cv2.VideoCapture(self.device, cv2.CAP_V4L2 if isinstance(self.device, int) else 0)
        if not cap.isOpened():
            raise _not_found(f"cannot open video device {self.device!r}")
        fourcc = str(opts.get("fourcc") or "")
        if len(fourcc) == 4:
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*fourcc))
        if opts.get("width"):
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, int(opts["width"]))
        if opts.get("height"):
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, int(opts["height"]))
        if opts.get("fps"):
            cap.set(cv2.CAP_PROP_FPS, float(opts["fps"]))
        exposure = opts.get("exposure", "auto")
        if isinstance(exposure, int | float) and not isinstance(exposure, bool) and exposure > 0:
            cap.set(cv2.CAP_PROP_AUTO_EXPOSURE, 1)  # V4L2: 1 = manual, 3 = aperture priority
            cap.set(cv2.CAP_PROP_EXPOSURE, float(exposure))
        self._cap = cap
        self._last: Frame | None = None

    def preview(self, timeout: float = 1.0) -> Frame:
        if self._clip is not None:
            return self._clip.read()
        assert self._cap is not None
        ok, frame = self._cap.read()
        if not ok or frame is None:
            raise _not_found(f"no frame from {self.device!r} (unplugged?)")
        self._last = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        return self._last

    def capture(self, timeout: float = 10.0) -> bytes:
        rgb = self.preview(timeout)
        ok, buf = cv2.imencode(
            ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, self.quality]
        )
        if not ok:
            raise DeviceError("encode_failed", *words("encode_failed"))
        return buf.tobytes()

    def geometry(self) -> PictureGeometry | None:
        """The still is the preview frame itself."""
        w, h = self.resolution()
        return PictureGeometry.whole(w, h) if w and h else None

    def resolution(self) -> tuple[int, int]:
        cap = self._clip.cap if self._clip else self._cap
        assert cap is not None
        return int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))

    def health(self) -> Health:
        w, h = self.resolution()
        return healthy(f"webcam {self.device} at {w}x{h}")

    def describe(self) -> dict[str, object]:
        w, h = self.resolution()
        return {"backend": self.name, "device": str(self.device), "width": w, "height": h}

    def close(self) -> None:
        if self._clip:
            self._clip.close()
        if self._cap is not None:
            self._cap.release()
