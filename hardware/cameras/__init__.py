"""Cameras: ``open_camera(backend, options) -> Camera``.

``options`` is the ``[camera]`` settings section (or a flat dict for one
backend): flat keys apply to every backend, ``options[backend]`` to that one.
Every camera is returned behind :class:`~hardware.cameras.service.CameraService`,
so calls answer within their timeout and a lost device is re-opened with back-off.
"""

from __future__ import annotations

from typing import Any

from hardware.cameras.base import Camera
from hardware.cameras.hybrid import HybridCamera
from hardware.cameras.service import CameraService
from hardware.errors import DeviceError
from hardware.words import words

BACKENDS = ("simulated", "opencv", "gphoto2", "picamera2", "hybrid")

__all__ = ["BACKENDS", "Camera", "CameraService", "open_camera", "open_device"]


def _options_for(backend: str, options: dict[str, Any]) -> dict[str, Any]:
    flat = {k: v for k, v in options.items() if not isinstance(v, dict) or k == "settings"}
    sub = options.get(backend)
    return {**flat, **(sub if isinstance(sub, dict) else {})}


def open_device(backend: str, options: dict[str, Any]) -> Camera:
    """The bare backend, without service wrapper (tests, ``kiosk camera list``)."""
    opts = _options_for(backend, options)
    if backend == "simulated":
        from hardware.cameras.simulated import SimulatedCamera

        return SimulatedCamera(opts)
    if backend == "opencv":
        from hardware.cameras.opencv_cam import OpenCVCamera

        return OpenCVCamera(opts)
    if backend == "gphoto2":
        from hardware.cameras.gphoto2_cam import Gphoto2Camera

        return Gphoto2Camera(opts)
    if backend == "picamera2":
        from hardware.cameras.picamera2_cam import Picamera2Camera

        return Picamera2Camera(opts)
    raise DeviceError(
        "unknown_backend",
        *words("unknown_backend"),
        f"unknown camera backend {backend!r}; use one of {', '.join(BACKENDS)}",
    )


def _service(backend: str, options: dict[str, Any]) -> CameraService:
    return CameraService(
        lambda: open_device(backend, options),
        backend,
        backoff_initial=float(options.get("backoff_initial", 0.5)),
        backoff_max=float(options.get("backoff_max", 30.0)),
        fail_after=int(options.get("fail_after", 3)),
        open_timeout=float(options.get("open_timeout", 15.0)),
    )


def open_camera(backend: str, options: dict[str, Any] | None = None) -> Camera:
    opts = dict(options or {})
    if backend == "hybrid":
        given = opts.get("hybrid")
        hybrid: dict[str, Any] = given if isinstance(given, dict) else {}
        preview_backend = str(hybrid.get("preview_backend") or "opencv")
        return HybridCamera(_service(preview_backend, opts), _service("gphoto2", opts))
    if backend not in BACKENDS:
        open_device(backend, opts)  # raises the clear error
    return _service(backend, opts)
