"""The booth's config files parse and every key is known and well typed."""

from __future__ import annotations

from typing import Any

from kiosk.doctor import FAIL, OK, CheckResult


def check(settings: Any) -> CheckResult:
    from kiosk.cli.config import check_files

    files, error = check_files(None)
    if error:
        return CheckResult("config", FAIL, error,
                           "fix the named line (`kiosk config defaults` shows every key)")
    shown = ", ".join(str(f) for f in files) or "defaults only"
    return CheckResult("config", OK, f"valid: {shown}")
