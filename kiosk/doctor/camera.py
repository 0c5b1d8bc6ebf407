"""The configured camera opens and gives a frame (or, while the screen holds it, is plugged in)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.doctor import FAIL, OK, WARN, CheckResult, from_health
from kiosk.doctor.services import unit_active

HINT = ("check the USB cable and that the camera is on; `kiosk camera list`; "
        "for a DSLR: auto power-off disabled, no desktop holding it (docs/appliance.md)")


def ptp_devices(sysfs: Path = Path("/sys/bus/usb/devices")) -> list[str]:
    """USB devices with a still-image (PTP) interface: ``vvvv:pppp product``."""
    found = []
    for intf in sysfs.glob("*:*"):
        try:
            if (intf / "bInterfaceClass").read_text().strip() != "06":
                continue
            dev = intf.parent if (intf.parent / "idVendor").exists() else sysfs / intf.name.split(":")[0]
            vid = (dev / "idVendor").read_text().strip()
            pid = (dev / "idProduct").read_text().strip()
            product = (dev / "product").read_text().strip() if (dev / "product").exists() else ""
        except OSError:
            continue
        found.append(f"{vid}:{pid} {product}".strip())
    return sorted(set(found))


def check(settings: Any) -> CheckResult:
    backend = str(settings.get("camera.backend") or "simulated")
    if backend in ("gphoto2", "hybrid") and unit_active("kiosk-ui.service"):
        # The screen holds the DSLR; opening it here would only make it busy.
        devices = ptp_devices()
        if devices:
            return CheckResult("camera", OK, f"{backend}: in use by the screen; "
                               f"plugged in: {', '.join(devices)}")
        return CheckResult("camera", FAIL, f"{backend}: no PTP camera on USB", HINT)

    from hardware.cameras import open_camera
    from kiosk.wiring import camera_options

    options = camera_options(settings)
    timeout = float(options.get("open_timeout", 15.0))
    camera = open_camera(backend, options)
    try:
        frame = camera.preview(timeout)
        health = camera.health()
    except Exception as exc:  # noqa: BLE001 - any device error is the finding
        detail = getattr(exc, "detail", "") or str(exc)
        return CheckResult("camera", FAIL, f"{backend}: {type(exc).__name__}: {detail}", HINT)
    finally:
        try:
            camera.close()
        except Exception:  # noqa: BLE001
            pass
    shape = "x".join(str(n) for n in getattr(frame, "shape", ())[:2][::-1]) or "?"
    text = f"{backend}: frame {shape}, {health.state}" + (
        f" ({health.detail})" if health.detail else "")
    result = from_health("camera", health, text, HINT)  # as the panel and heartbeat show it
    if result.status != OK:
        return result
    if backend == "simulated":
        return CheckResult("camera", WARN, text + " — a simulated camera, not a real one",
                           "set camera.backend to opencv, gphoto2 or hybrid on a booth")
    return CheckResult("camera", OK, text)
