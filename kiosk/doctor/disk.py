"""Free space where photos wait for upload (the state directory's file system)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from kiosk.doctor import FAIL, OK, WARN, CheckResult


def check(settings: Any) -> CheckResult:
    from kiosk.wiring import state_dir

    path = Path(state_dir(settings))
    while not path.exists() and path != path.parent:
        path = path.parent
    usage = shutil.disk_usage(path)
    free_mb = usage.free // (1024 * 1024)
    warn_mb = int(settings.get("doctor.disk.warn_mb", 2048))
    fail_mb = int(settings.get("doctor.disk.fail_mb", 500))
    detail = f"{free_mb} MiB free of {usage.total // (1024 * 1024)} MiB on {path}"
    hint = "free space: `journalctl --vacuum-size=100M`, old releases in /opt/kiosk/releases"
    if free_mb < fail_mb:
        return CheckResult("disk", FAIL, detail, hint)
    if free_mb < warn_mb:
        return CheckResult("disk", WARN, detail, hint)
    return CheckResult("disk", OK, detail)
