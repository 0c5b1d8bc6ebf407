"""FAKE picamera2: plays recorded sensor frames through the picamera2 calls the kiosk makes.

Not the real library (which needs a Raspberry Pi and libcamera). The
"sensor" is a list of recorded full-resolution frames (JPEG files in
``$FAKE_PICAMERA2_FRAMES``, sorted by name); each ``capture_request`` takes the
next one, crops it to the stream's ScalerCrop (the largest centred area with
the stream's aspect, as libcamera's default), resizes it to the stream size
and applies the configured transform, so a mirrored stream would be mirrored
here too. Formats follow picamera2: "BGR888" arrays are R, G, B; "RGB888"
arrays are B, G, R. ``FAKE_PICAMERA2_CAMERAS=0`` lists no camera.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

MODEL = "imx477"  # the HQ camera: a 4:3 sensor


def _frames_dir() -> Path:
    return Path(os.environ.get("FAKE_PICAMERA2_FRAMES", ""))


def _recorded() -> list[np.ndarray]:
    files = sorted(p for p in _frames_dir().glob("*.jpg"))
    frames = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in files]
    if not frames:
        raise RuntimeError(f"FAKE picamera2: no recorded frames in {_frames_dir()}")
    return frames


class _Request:
    def __init__(self, arr: np.ndarray, metadata: dict[str, Any]) -> None:
        self._arr, self._md, self.released = arr, metadata, False

    def make_array(self, name: str = "main") -> np.ndarray:
        assert not self.released, "request used after release"
        return self._arr.copy()

    def get_metadata(self) -> dict[str, Any]:
        return dict(self._md)

    def release(self) -> None:
        self.released = True


class Picamera2:
    opened: list[Picamera2] = []

    @staticmethod
    def global_camera_info() -> list[dict[str, Any]]:
        n = int(os.environ.get("FAKE_PICAMERA2_CAMERAS", "1"))
        return [{"Model": MODEL, "Location": 2, "Rotation": 0, "Num": i,
                 "Id": f"/base/soc/i2c0mux/i2c@1/{MODEL}@1a#{i}"} for i in range(n)]  # fmt: skip

    def __init__(self, camera_num: int = 0) -> None:
        if camera_num >= len(self.global_camera_info()):
            raise IndexError("list index out of range")
        self._frames = _recorded()
        h, w = self._frames[0].shape[:2]
        self.sensor_resolution = (w, h)
        self.camera_controls = {"ScalerCrop": ((0, 0, 64, 64), (0, 0, w, h), (0, 0, w, h))}
        self.camera_properties = {"PixelArraySize": (w, h), "Model": MODEL}
        self._config: dict[str, Any] | None = None
        self._index = -1
        self.started = False
        self.closed = False
        self.stills = 0
        Picamera2.opened.append(self)

    # -- configurations ------------------------------------------------------
    def _configuration(self, kind: str, main: dict | None, transform: Any = None) -> dict:
        main = dict(main or {})
        main.setdefault("size", (640, 480) if kind == "preview" else self.sensor_resolution)
        main.setdefault("format", "XBGR8888")
        return {"use_case": kind, "main": main, "transform": transform}

    def create_preview_configuration(self, main: dict | None = None, transform: Any = None,
                                     **_: Any) -> dict:  # fmt: skip
        return self._configuration("preview", main, transform)

    def create_still_configuration(self, main: dict | None = None, transform: Any = None,
                                   **_: Any) -> dict:  # fmt: skip
        return self._configuration("still", main, transform)

    def configure(self, config: dict) -> None:
        self._config = config

    def start(self) -> None:
        assert self._config is not None, "configure() before start()"
        self.started = True

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True

    # -- capture -------------------------------------------------------------
    def _crop(self, size: tuple[int, int]) -> tuple[int, int, int, int]:
        sw, sh = self.sensor_resolution
        k = min(sw / size[0], sh / size[1])
        w, h = int(size[0] * k) & ~1, int(size[1] * k) & ~1
        return ((sw - w) // 2, (sh - h) // 2, w, h)

    def _request(self, config: dict) -> _Request:
        assert self.started, "capture before start()"
        self._index = (self._index + 1) % len(self._frames)
        sensor = self._frames[self._index]
        size = tuple(config["main"]["size"])
        x, y, w, h = self._crop(size)
        out = cv2.resize(sensor[y : y + h, x : x + w], size, interpolation=cv2.INTER_AREA)
        t = config.get("transform")
        if t is not None and t.hflip:
            out = out[:, ::-1]
        if t is not None and t.vflip:
            out = out[::-1]
        fmt = config["main"]["format"]
        if fmt == "RGB888":
            out = out[:, :, ::-1]  # picamera2's RGB888 is B, G, R in memory
        elif fmt in ("XBGR8888", "XRGB8888"):
            alpha = np.full(out.shape[:2] + (1,), 255, np.uint8)
            out = np.concatenate([out if fmt == "XBGR8888" else out[:, :, ::-1], alpha], axis=2)
        md = {"ScalerCrop": (x, y, w, h), "FrameIndex": self._index}
        return _Request(np.ascontiguousarray(out), md)

    def capture_request(self, *_: Any, **__: Any) -> _Request:
        return self._request(self._config)  # type: ignore[arg-type]

    def capture_array(self, name: str = "main") -> np.ndarray:
        req = self.capture_request()
        try:
            return req.make_array(name)
        finally:
            req.release()

    def capture_metadata(self) -> dict[str, Any]:
        req = self.capture_request()
        req.release()
        return req.get_metadata()

    def switch_mode_and_capture_request(self, config: dict, *_: Any, **__: Any) -> _Request:
        self.stills += 1
        return self._request(config)
