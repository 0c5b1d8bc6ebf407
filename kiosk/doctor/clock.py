"""A plausible date (QR validity, order times) and, where known, NTP synchronisation."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from typing import Any

from kiosk.doctor import FAIL, OK, WARN, CheckResult


def _ntp_synced() -> bool | None:
    if not shutil.which("timedatectl"):
        return None
    try:
        out = subprocess.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
                             capture_output=True, text=True, timeout=3)
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = out.stdout.strip()
    return {"yes": True, "no": False}.get(value) if out.returncode == 0 else None


def check(settings: Any) -> CheckResult:
    now = dt.datetime.now().astimezone()
    min_year = int(settings.get("doctor.clock.min_year", 2025))
    stamp = now.strftime("%Y-%m-%d %H:%M %Z")
    if now.year < min_year or now.year > min_year + 30:
        return CheckResult("clock", FAIL, f"clock says {stamp}",
                           "connect the network (NTP) or set the time: `timedatectl set-time`")
    synced = _ntp_synced()
    if synced is False:
        status = FAIL if settings.get("doctor.clock.require_ntp") else WARN
        return CheckResult("clock", status, f"{stamp}, not NTP-synchronised",
                           "check the network and `timedatectl timesync-status`")
    ntp = {True: "NTP-synchronised", None: "NTP state unknown (no timedatectl/systemd)"}[synced]
    return CheckResult("clock", OK, f"{stamp}, {ntp}")
