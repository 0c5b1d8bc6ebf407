"""The kiosk's systemd units are up (when the booth runs under systemd)."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

from kiosk.doctor import FAIL, OK, WARN, CheckResult

UNITS = ("kiosk-ui.service", "kiosk-worker.service", "kiosk-center.service")


def under_systemd() -> bool:
    return os.path.isdir("/run/systemd/system") and shutil.which("systemctl") is not None


def _systemctl(*args: str) -> str:
    try:
        out = subprocess.run(["systemctl", *args], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip()


def unit_active(unit: str) -> bool:
    return under_systemd() and _systemctl("is-active", unit) == "active"


def check(settings: Any) -> CheckResult:
    if not under_systemd():
        return CheckResult("services", WARN, "not running under systemd: units not checked",
                           "on a booth the units are kiosk-ui, kiosk-worker (and kiosk-center)")
    states = {}
    for unit in UNITS:
        enabled = _systemctl("is-enabled", unit)
        if enabled in ("enabled", "enabled-runtime", "static") or unit != "kiosk-center.service":
            states[unit] = _systemctl("is-active", unit) or "unknown"
    bad = {u: s for u, s in states.items() if s != "active"}
    listed = ", ".join(f"{u.removesuffix('.service')} {s}" for u, s in states.items())
    if bad:
        return CheckResult("services", FAIL, listed,
                           "see `journalctl -u kiosk-ui -u kiosk-worker -b`; "
                           "`systemctl restart kiosk-ui`")
    return CheckResult("services", OK, listed)
