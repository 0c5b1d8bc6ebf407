"""A keyboard-wedge QR scanner from the configured vendors is plugged in and readable."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kiosk.doctor import FAIL, OK, WARN, CheckResult


def wedge_devices(vendors: list[str], sysfs: Path = Path("/sys/class/input")) -> list[tuple[str, str]]:
    """``(event node, vendor)`` of input devices whose USB vendor is in ``vendors``."""
    wanted = {v.lower() for v in vendors}
    found = []
    for event in sorted(sysfs.glob("event*")):
        try:
            vendor = (event / "device" / "id" / "vendor").read_text().strip().lower()
            bus = (event / "device" / "id" / "bustype").read_text().strip()
        except OSError:
            continue
        if vendor in wanted and bus == "0003":  # BUS_USB
            found.append((f"/dev/input/{event.name}", vendor))
    return found


def check(settings: Any) -> CheckResult:
    vendors = list(settings.get("appliance.udev.scanner_vendors") or [])
    required = bool(settings.get("doctor.scanner.required"))
    devices = wedge_devices(vendors)
    if not devices:
        status = FAIL if required else WARN
        return CheckResult("scanner", status,
                           f"no USB scanner of vendors {', '.join(vendors) or '(none set)'}",
                           "plug the scanner in; add its vendor id (`lsusb`) to "
                           "appliance.udev.scanner_vendors and re-run scripts/install.sh; "
                           "QR codes are still read through the camera")
    unreadable = [node for node, _ in devices if os.path.exists(node)
                  and not os.access(node, os.R_OK)]
    listed = ", ".join(f"{node} ({vendor})" for node, vendor in devices)
    if unreadable:
        return CheckResult("scanner", WARN, f"{listed}; not readable by this user: "
                           f"{', '.join(unreadable)}", "the udev rule gives it to the kiosk group: "
                           "`udevadm trigger -s input`, and run the doctor as root or kiosk")
    return CheckResult("scanner", OK, listed)
