"""``kiosk doctor``: is this booth fit to serve students, and if not, what to do.

One module per check, each ``check(settings) -> CheckResult``. Checks reach
the other parts only through their contracts (docs/architecture.md), import
them lazily, and run in a thread with a timeout, so a missing part reports
"not installed" and a hung device reports a timeout instead of hanging or
crashing the doctor. Details are for a technician: no personal data.
"""

from __future__ import annotations

import importlib
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

OK, WARN, FAIL = "ok", "warn", "fail"
KNOWN = ("config", "install", "camera", "scanner", "printer", "disk", "fonts", "clock",
         "center", "outbox", "services")


@dataclass
class CheckResult:
    name: str
    status: str  # ok | warn | fail
    detail: str
    hint: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# A device's health (hardware.health, the shape the operator panel and the heartbeats
# carry) as a doctor's verdict: only "failed" stops the booth; not knowing warns.
STATUS_OF_HEALTH = {"ok": OK, "degraded": WARN, "unknown": WARN, "off": WARN, "failed": FAIL}


def from_health(name: str, health: Any, detail: str = "", hint: str = "") -> CheckResult:
    """The verdict on a device from its ``hardware.health.Health``."""
    status = STATUS_OF_HEALTH.get(str(getattr(health, "state", "unknown")), WARN)
    return CheckResult(name, status, detail or str(getattr(health, "detail", "")),
                       hint if status != OK else "")


def not_installed(name: str, exc: BaseException) -> CheckResult:
    """A part the check needs is missing or broken: the release is incomplete."""
    return CheckResult(name, FAIL, f"not installed: {type(exc).__name__}: {exc}",
                       "reinstall the release (scripts/install.sh) or roll back "
                       "(scripts/upgrade.sh --rollback)")


def _run_one(name: str, settings: Any, timeout: float) -> CheckResult:
    box: dict[str, CheckResult] = {}
    start = time.monotonic()

    def target() -> None:
        try:
            module = importlib.import_module(f"kiosk.doctor.{name}")
            box["r"] = module.check(settings)
        except ImportError as exc:
            box["r"] = not_installed(name, exc)
        except Exception as exc:  # a check must never take the doctor down
            from kiosk.redact import scrub

            box["r"] = CheckResult(name, FAIL, scrub(f"check crashed: {type(exc).__name__}: {exc}"),
                                   "report this with `kiosk support bundle`")

    thread = threading.Thread(target=target, name=f"doctor-{name}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        result = CheckResult(name, FAIL, f"no answer within {timeout:g} s",
                             "the device or service hangs: unplug/replug it or restart the booth")
    else:
        result = box["r"]
    result.name = name
    result.seconds = round(time.monotonic() - start, 3)
    return result


def run_checks(settings: Any, names: list[str] | None = None,
               timeout: float | None = None) -> list[CheckResult]:
    """Run the named checks (default: ``doctor.checks``) one after the other."""
    names = list(names or settings.get("doctor.checks") or KNOWN)
    limit = float(timeout or settings.get("doctor.timeout") or 15.0)
    results = []
    for name in names:
        if name not in KNOWN:
            results.append(CheckResult(name, FAIL, "unknown check",
                                       f"known checks: {', '.join(KNOWN)}"))
            continue
        results.append(_run_one(name, settings, limit))
    return results


def worst(results: list[CheckResult]) -> str:
    states = {r.status for r in results}
    return FAIL if FAIL in states else WARN if WARN in states else OK
