"""``kiosk camera list`` and ``kiosk camera capture -o FILE [--backend NAME]``.

A camera that cannot be opened -- an unknown backend in the config, a device
that is gone, a driver that raises -- is one line and exit 3, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from kiosk.cli import EXIT_ERROR, EXIT_OK
from kiosk.errors import KioskError


def as_kiosk_error(exc: Exception) -> KioskError:
    """A ``hardware.errors.DeviceError`` (same fields) as a ``KioskError`` (shared by CLIs)."""
    return KioskError(getattr(exc, "code", "device"), getattr(exc, "zh", str(exc)),
                      getattr(exc, "en", str(exc)), getattr(exc, "detail", ""))


def _camera_error(exc: Exception, backend: str) -> KioskError:
    """Any failure of the camera layer as one operator line (``DeviceError`` keeps its words)."""
    from hardware.errors import DeviceError
    from kiosk import notices

    if isinstance(exc, DeviceError):
        return as_kiosk_error(exc)
    detail = f"{type(exc).__name__}: {exc}"
    return notices.error("camera_unavailable",
                         notices.operator_line("camera_unavailable", backend=backend,
                                               detail=detail))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("camera", help="list cameras, take a still")
    cmds = p.add_subparsers(dest="camera_cmd", metavar="CMD")
    ls = cmds.add_parser("list", help="cameras this machine sees, and the configured one")
    ls.add_argument("--open", action="store_true", help="open the configured camera and describe it")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=run_list)
    cap = cmds.add_parser("capture", help="take one still (JPEG, never mirrored)")
    cap.add_argument("-o", "--output", required=True, help="JPEG file to write")
    cap.add_argument("--backend", choices=["simulated", "opencv", "gphoto2", "picamera2", "hybrid"],
                     help="override camera.backend")
    cap.set_defaults(func=run_capture)
    p.set_defaults(func=lambda args: (p.print_help(), EXIT_ERROR)[1])


def _settings() -> tuple[str, dict]:
    from kiosk.settings import load_settings
    from kiosk.wiring import camera_options

    s = load_settings()
    return str(s.get("camera.backend")), camera_options(s)


def run_list(args: argparse.Namespace) -> int:
    from hardware.cameras.opencv_cam import list_devices

    backend, options = _settings()
    out: dict[str, object] = {"configured": backend, "v4l2": list_devices()}
    try:
        from hardware.cameras.gphoto2_cam import list_cameras, load_model_settings

        gp = []
        for model, port in list_cameras():
            file, settings = load_model_settings(model, options["gphoto2"].get("models_dir"))
            gp.append({"model": model, "port": port, "model_file": file,
                       "settings": sorted(settings)})
        out["gphoto2"] = gp
    except Exception as exc:  # noqa: BLE001 - listing must show what it can
        out["gphoto2"] = f"unavailable: {exc}"
    try:  # Raspberry Pi camera modules, when libcamera (picamera2) is present
        from hardware.cameras.picamera2_cam import list_cameras as libcamera_cameras

        out["libcamera"] = libcamera_cameras()
    except Exception as exc:  # noqa: BLE001 - listing must show what it can
        out["libcamera"] = f"unavailable: {getattr(exc, 'detail', '') or exc}"
    if args.open:
        from hardware.cameras import open_camera

        try:
            cam = open_camera(backend, options)
            try:
                out["open"] = cam.describe()
            finally:
                cam.close()
        except Exception as exc:  # noqa: BLE001 - one line, exit 3 (kiosk.cli.main)
            raise _camera_error(exc, backend) from None
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1, default=str))
        return EXIT_OK
    print(f"configured backend: {backend}")
    print("V4L2 devices: " + (", ".join(out["v4l2"]) or "none"))  # type: ignore[arg-type]
    gp = out["gphoto2"]
    if isinstance(gp, str) or not gp:
        print(f"gphoto2 cameras: {gp or 'none'}")
    else:
        for cam_info in gp:
            print(f"gphoto2: {cam_info['model']} on {cam_info['port']} "
                  f"(settings: {cam_info['model_file'] or 'none'})")
    lc = out["libcamera"]
    if isinstance(lc, str) or not lc:
        print(f"libcamera cameras: {lc or 'none'}")
    else:
        for cam_info in lc:
            print(f"libcamera: #{cam_info['num']} {cam_info['model']} ({cam_info['id']})")
    if "open" in out:
        print("opened: " + json.dumps(out["open"], ensure_ascii=False, default=str))
    return EXIT_OK


def run_capture(args: argparse.Namespace) -> int:
    from durable import write_durable
    from hardware.cameras import open_camera

    backend, options = _settings()
    backend = args.backend or backend
    try:
        cam = open_camera(backend, options)
        try:
            t0 = time.perf_counter()
            if backend != "gphoto2":
                cam.preview(float(options.get("preview_timeout", 1.0)) + 2.0)  # live first
            jpeg = cam.capture(float(options.get("capture_timeout", 10.0)))
            ms = (time.perf_counter() - t0) * 1000
        finally:
            cam.close()
    except Exception as exc:  # noqa: BLE001 - one line, exit 3 (kiosk.cli.main)
        raise _camera_error(exc, backend) from None
    try:
        path = write_durable(args.output, jpeg, mode=0o644)
    except OSError as exc:
        print(f"kiosk: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
        return EXIT_ERROR
    from PIL import Image

    with Image.open(path) as im:
        size = f"{im.size[0]}x{im.size[1]}"
    print(f"{path}: {len(jpeg)} bytes, {size}, from {backend} in {ms:.0f} ms")
    return EXIT_OK
