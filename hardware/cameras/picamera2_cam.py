"""The Raspberry Pi camera module through picamera2 (libcamera).

One libcamera camera gives both the preview stream (1280x720 by default,
RGB) and the full-resolution still, switched per capture. The transform is
set to identity explicitly: the still is never mirrored or flipped (only the
screen may mirror the preview). Each stream's ``ScalerCrop`` (the sensor area
it shows) gives the geometry guidance needs: a 16:9 preview of a 4:3 sensor
is a band of the still, not the whole still.

``picamera2`` and ``libcamera`` come from Raspberry Pi OS (``apt install
python3-picamera2``), not from PyPI, and are imported only when this backend
is opened. This backend has not run on a real Pi here: it is tested against a
recorded-frames fake of the picamera2 API (tests/hardware/fakes).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from hardware.cameras.base import Camera, Frame
from hardware.cameras.geometry import PictureGeometry
from hardware.errors import DeviceError
from hardware.health import Health, healthy
from hardware.words import words

Crop = tuple[int, int, int, int]  # x, y, w, h on the sensor


def _missing(detail: str) -> DeviceError:
    return DeviceError(
        "picamera_missing",
        *words("picamera_missing"),
        detail,
        reopen=True,
    )


def _module() -> Any:
    try:
        import picamera2
    except ImportError as exc:
        raise DeviceError(
            "picamera2_unavailable",
            *words("picamera2_unavailable"),
            f"picamera2 is not installed (apt install python3-picamera2): {exc}",
        ) from None
    return picamera2


def list_cameras() -> list[dict[str, object]]:
    """libcamera's cameras (model, number, id); raises ``DeviceError`` without picamera2."""
    cams = _module().Picamera2.global_camera_info()
    return [
        {"num": c.get("Num", i), "model": c.get("Model", "?"), "id": c.get("Id", "")}
        for i, c in enumerate(cams)
    ]


def _identity_transform() -> dict[str, Any]:
    try:
        from libcamera import Transform
    except ImportError:
        return {}
    return {"transform": Transform(hflip=0, vflip=0)}


class Picamera2Camera(Camera):
    name = "picamera2"

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        opts = dict(options or {})
        Picamera2 = _module().Picamera2
        num = int(opts.get("camera_num", 0))
        if len(Picamera2.global_camera_info()) <= num:
            raise _missing(f"libcamera lists no camera number {num}")
        self.quality = int(opts.get("jpeg_quality", 95))
        try:
            self.cam = Picamera2(num)
        except (RuntimeError, IndexError) as exc:
            raise _missing(f"cannot open camera {num}: {exc}") from None
        sensor_w, sensor_h = (int(v) for v in self.cam.sensor_resolution)
        sensor = (sensor_w, sensor_h)
        sw, sh = int(opts.get("still_width") or 0), int(opts.get("still_height") or 0)
        self.still_size = (sw, sh) if sw and sh else sensor
        pw = int(opts.get("width") or 1280)
        # Height 0: the still's aspect, so the preview shows the whole still (a 16:9
        # preview of a 4:3 sensor hides what is above and below it from guidance).
        ph = int(opts.get("height") or 0) or round(pw * self.still_size[1] / self.still_size[0] / 2) * 2
        self.preview_size = (pw, ph)
        t = _identity_transform()
        # BGR888 is libcamera's name for bytes in R, G, B order: numpy RGB, as the booth wants.
        self.preview_config = self.cam.create_preview_configuration(
            main={"size": self.preview_size, "format": "BGR888"}, **t
        )
        self.still_config = self.cam.create_still_configuration(
            main={"size": self.still_size, "format": "BGR888"}, **t
        )
        self.cam.configure(self.preview_config)
        self.cam.start()
        self._preview_crop: Crop | None = None
        self._still_crop: Crop | None = _crop_maximum(self.cam)
        self.model = str(Picamera2.global_camera_info()[num].get("Model", "?"))
        self.num = num

    def preview(self, timeout: float = 1.0) -> Frame:
        req = self.cam.capture_request()
        try:
            rgb = np.ascontiguousarray(req.make_array("main")[:, :, :3])
            crop = (req.get_metadata() or {}).get("ScalerCrop")
        finally:
            req.release()
        if crop:
            self._preview_crop = tuple(int(v) for v in crop)  # type: ignore[assignment]
        return rgb

    def capture(self, timeout: float = 10.0) -> bytes:
        req = self.cam.switch_mode_and_capture_request(self.still_config)
        try:
            rgb = req.make_array("main")[:, :, :3]
            crop = (req.get_metadata() or {}).get("ScalerCrop")
        finally:
            req.release()
        if crop:
            x, y, w, h = (int(v) for v in crop)
            self._still_crop = (x, y, w, h)
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, self.quality])  # fmt: skip
        if not ok:
            raise DeviceError("encode_failed", *words("encode_failed"))
        return buf.tobytes()

    def geometry(self) -> PictureGeometry | None:
        """The still's picture in preview pixels, from both streams' sensor crops."""
        p, s = self._preview_crop, self._still_crop
        if not p or not s:
            return PictureGeometry.cropped(self.still_size, self.preview_size)
        (px, py, pw, ph), (sx, sy, sw, sh) = p, s
        kx, ky = self.preview_size[0] / pw, self.preview_size[1] / ph  # preview px per sensor px
        box = ((sx - px) * kx, (sy - py) * ky, (sx + sw - px) * kx, (sy + sh - py) * ky)
        return PictureGeometry(self.preview_size, self.still_size, box)

    def health(self) -> Health:
        return healthy(f"Pi camera {self.model} (#{self.num}), preview "
                       f"{self.preview_size[0]}x{self.preview_size[1]}, "
                       f"still {self.still_size[0]}x{self.still_size[1]}")  # fmt: skip

    def describe(self) -> dict[str, object]:
        return {"backend": self.name, "model": self.model, "num": self.num,
                "preview": list(self.preview_size), "still": list(self.still_size)}  # fmt: skip

    def close(self) -> None:
        try:
            self.cam.stop()
        finally:
            self.cam.close()


def _crop_maximum(cam: Any) -> Crop | None:
    """The sensor area a full-sensor still shows (before the first still reports its own)."""
    ctl = getattr(cam, "camera_controls", {}) or {}
    sc = ctl.get("ScalerCrop")
    if sc and len(sc) >= 2 and sc[1]:
        return tuple(int(v) for v in sc[1])  # type: ignore[return-value]
    props = getattr(cam, "camera_properties", {}) or {}
    mx = props.get("ScalerCropMaximum")
    return tuple(int(v) for v in mx) if mx else None  # type: ignore[return-value]
