"""A DSLR or system camera through python-gphoto2 (libgphoto2).

Per-model settings come from ``config/cameras/*.toml`` (capture target, image
format, auto power-off, manual exposure/focus where the body allows): a booth
must take the same picture at 9:00 and at 17:00, so nothing is left to the
camera's automatics that can be pinned. Errors are translated into
:class:`DeviceError` with ``reopen`` set when a fresh session may help (unplug,
standby, "PTP Device Busy"); re-opening with back-off is the service's job
(:mod:`hardware.cameras.service`). ``gphoto2`` is imported lazily because its
virtual camera (``VCAMERADIR``) is chosen at import time.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import tomllib
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from hardware.cameras.base import Camera, Frame
from hardware.errors import DeviceError
from hardware.health import Health, healthy
from hardware.words import words

log = logging.getLogger(__name__)

HOLDER_NAMES = ("gvfsd-gphoto2", "gvfs-gphoto2-volume-monitor", "gvfsd-mtp", "shotwell", "gphoto2")

# libgphoto2 error codes (gphoto2.GP_ERROR_*), spelled out so this table
# can be read without importing the library.
GP_ERROR = -1
GP_ERROR_IO = -7
GP_ERROR_NOT_SUPPORTED = -6
GP_ERROR_TIMEOUT = -10
GP_ERROR_IO_READ = -34
GP_ERROR_IO_WRITE = -35
GP_ERROR_IO_USB_FIND = -52
GP_ERROR_IO_USB_CLAIM = -53
GP_ERROR_MODEL_NOT_FOUND = -105
GP_ERROR_CAMERA_BUSY = -110


def default_models_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "config" / "cameras"


def load_model_settings(model: str, models_dir: str | Path | None = None) -> tuple[str, dict[str, Any]]:
    """(file name, settings) of the first ``config/cameras/*.toml`` whose ``match`` fits.

    Files are tried in name order; a file named ``zz-generic.toml`` with
    ``match = ["*"]`` can serve as the fallback.
    """
    folder = Path(models_dir) if models_dir else default_models_dir()
    for path in sorted(folder.glob("*.toml")):
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        patterns = data.get("match", [])
        if any(fnmatch.fnmatchcase(model.lower(), p.lower()) for p in patterns):
            return path.name, dict(data.get("settings", {}))
    return "", {}


def find_holders(proc: str | Path = "/proc") -> list[tuple[int, str]]:
    """Processes that typically hold a camera's USB device (gvfs, another gphoto2)."""
    found = []
    me = os.getpid()
    for entry in Path(proc).iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        name = os.path.basename(argv[0].decode("utf-8", "replace")) if argv and argv[0] else ""
        if name in HOLDER_NAMES:
            found.append((int(entry.name), name))
    return sorted(found)


def translate_error(exc: Exception, action: str) -> DeviceError:
    """A libgphoto2 error as the operator and the student should hear it."""
    code = getattr(exc, "code", GP_ERROR)
    if code == GP_ERROR_IO_USB_CLAIM:
        holders = find_holders()
        who = ", ".join(f"{n} (pid {p})" for p, n in holders) or "another process"
        return DeviceError(
            "camera_claimed",
            *words("camera_claimed"),
            f"{action}: cannot claim the USB device, held by {who}; stop it "
            "(systemctl --user mask gvfs-gphoto2-volume-monitor) and re-plug the camera",
            reopen=True,
        )
    if code == GP_ERROR_CAMERA_BUSY:
        return DeviceError(
            "camera_busy",
            *words("camera_busy"),
            f"{action}: PTP device busy ({exc})",
            reopen=True,
        )
    if code == GP_ERROR_NOT_SUPPORTED:
        return DeviceError(
            "not_supported",
            *words("not_supported"),
            f"{action}: {exc}",
        )
    return DeviceError(
        "camera_lost",
        *words("camera_lost"),
        f"{action}: {exc} (unplugged, asleep or hung)",
        reopen=True,
    )


def list_cameras() -> list[tuple[str, str]]:
    """(model, port) of every camera libgphoto2 detects."""
    import gphoto2 as gp

    cams = gp.Camera.autodetect()
    return [(cams.get_name(i), cams.get_value(i)) for i in range(cams.count())]


def _widget_value(widget: Any, value: Any) -> Any:
    import gphoto2 as gp

    kind = widget.get_type()
    if kind in (gp.GP_WIDGET_RADIO, gp.GP_WIDGET_MENU):
        choices = [widget.get_choice(i) for i in range(widget.count_choices())]
        text = str(value)
        if text not in choices:
            raise ValueError(f"{text!r} not in {choices}")
        return text
    if kind == gp.GP_WIDGET_TOGGLE:
        return 1 if value in (True, 1, "1", "on", "On", "true") else 0
    if kind == gp.GP_WIDGET_RANGE:
        return float(value)
    if kind == gp.GP_WIDGET_TEXT:
        return str(value)
    raise ValueError(f"widget type {kind} cannot be set")


class Gphoto2Camera(Camera):
    name = "gphoto2"

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        import gphoto2 as gp

        opts = dict(options or {})
        self._gp = gp
        self.applied: dict[str, Any] = {}
        self.skipped: dict[str, str] = {}
        self.has_preview = bool(opts.get("live_view", True))
        self.delete_after = bool(opts.get("delete_after_capture", False))
        try:
            detected = list_cameras()
        except gp.GPhoto2Error as exc:
            raise translate_error(exc, "autodetect") from None
        want_port = str(opts.get("port") or "")
        chosen = [c for c in detected if not want_port or c[1] == want_port]
        if not chosen:
            raise DeviceError(
                "camera_missing",
                *words("camera_missing"),
                f"no camera detected{' on ' + want_port if want_port else ''} "
                f"(found {detected or 'none'})",
                reopen=True,
            )
        self.model, self.port = chosen[0]
        cam = gp.Camera()
        try:
            ports = gp.PortInfoList()
            ports.load()
            cam.set_port_info(ports[ports.lookup_path(self.port)])
            abilities = gp.CameraAbilitiesList()
            abilities.load()
            cam.set_abilities(abilities[abilities.lookup_model(self.model)])
            cam.init()
        except gp.GPhoto2Error as exc:
            raise translate_error(exc, f"open {self.model} on {self.port}") from None
        self._cam = cam
        self.model_file, settings = load_model_settings(self.model, opts.get("models_dir") or None)
        settings.update(opts.get("settings") or {})
        self._apply(settings)

    def _apply(self, settings: dict[str, Any]) -> None:
        """Set what the body offers; skip (and report) what it does not, never fail open."""
        if not settings:
            return
        gp = self._gp
        try:
            config = self._cam.get_config()
        except gp.GPhoto2Error as exc:
            raise translate_error(exc, "read config") from None
        for key, value in settings.items():
            try:
                widget = config.get_child_by_name(key)
                if widget.get_readonly():
                    raise ValueError("read-only on this body")
                widget.set_value(_widget_value(widget, value))
                self.applied[key] = value
            except (gp.GPhoto2Error, ValueError) as exc:
                self.skipped[key] = str(exc)
        if self.skipped:
            log.warning("camera %s: settings not applied: %s", self.model, self.skipped)
        try:
            self._cam.set_config(config)
        except gp.GPhoto2Error as exc:
            raise translate_error(exc, "write config") from None

    def _session(self) -> Any:
        if self._cam is None:
            raise DeviceError(
                "camera_closed", *words("camera_closed"), "closed", reopen=True
            )
        return self._cam

    def preview(self, timeout: float = 1.0) -> Frame:
        gp = self._gp
        if not self.has_preview:
            raise DeviceError(
                "no_live_view",
                *words("no_live_view"),
                f"{self.model}: live view off or unsupported",
            )
        try:
            cf = self._session().capture_preview()
            data = bytes(memoryview(cf.get_data_and_size()))
        except gp.GPhoto2Error as exc:
            err = translate_error(exc, "live view")
            if err.code == "not_supported":
                self.has_preview = False
                err.code = "no_live_view"
            raise err from None
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            raise DeviceError(
                "bad_frame",
                *words("bad_frame"),
                f"{self.model}: undecodable live-view frame ({len(data)} bytes)",
            )
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def capture(self, timeout: float = 10.0) -> bytes:
        gp = self._gp
        try:
            # No local reference to the session: a traceback would keep it alive.
            path = self._session().capture(gp.GP_CAPTURE_IMAGE)
            cf = self._session().file_get(path.folder, path.name, gp.GP_FILE_TYPE_NORMAL)
            data = bytes(memoryview(cf.get_data_and_size()))
            if self.delete_after:
                self._session().file_delete(path.folder, path.name)
        except gp.GPhoto2Error as exc:
            raise translate_error(exc, "capture") from None
        if not data.startswith(b"\xff\xd8"):
            raise DeviceError(
                "not_jpeg",
                *words("not_jpeg"),
                f"{self.model}: still is not a JPEG; set the image format in config/cameras/",
            )
        return data

    def health(self) -> Health:
        detail = f"{self.model} on {self.port}"
        if self.skipped:
            detail += f"; settings not applied: {', '.join(sorted(self.skipped))}"
        return healthy(detail)

    def describe(self) -> dict[str, object]:
        return {
            "backend": self.name,
            "model": self.model,
            "port": self.port,
            "model_file": self.model_file,
            "live_view": self.has_preview,
            "applied": self.applied,
            "skipped": self.skipped,
        }

    def close(self) -> None:
        cam, self._cam = self._cam, None
        if cam is None:
            return
        try:
            cam.exit()
        except Exception:  # noqa: BLE001 - an unplugged camera fails to say goodbye
            pass
        # Drop the last reference now: libgphoto2 frees the session only when the
        # object dies, and a live old session keeps a re-plugged camera from opening
        # (an exception traceback may otherwise keep this object alive).
        del cam
