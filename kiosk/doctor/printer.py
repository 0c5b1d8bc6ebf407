"""The CUPS queue exists, accepts jobs, and has paper and ink (printer-state-reasons)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from kiosk.doctor import FAIL, OK, WARN, CheckResult

# Reasons after which the booth cannot print until someone acts.
BLOCKING = ("media-empty", "media-needed", "media-jam", "marker-supply-empty", "toner-empty",
            "offline", "paused", "door-open", "cover-open", "input-tray-missing", "stopped")
PAPER = ("media-empty", "media-needed", "media-jam", "marker-supply-empty", "marker-supply-low",
         "toner-empty", "toner-low", "media-low")


def _setting(settings: Any, *keys: str) -> str:
    for key in keys:
        value = settings.get(key)
        if value:
            return str(value)
    return ""


def _reasons(state: Any) -> list[str]:
    raw = getattr(state, "reasons", None) or getattr(state, "state_reasons", None) or []
    if isinstance(raw, str):
        raw = raw.split(",")
    return [str(r).strip() for r in raw if str(r).strip() and str(r).strip() != "none"]


def check(settings: Any) -> CheckResult:
    queue = _setting(settings, "printer.queue", "printing.queue")
    if not queue:
        return CheckResult("printer", WARN, "no printer queue configured: no prints at the booth",
                           "set printer.queue in /etc/kiosk/kiosk.toml (`lpstat -p` lists queues)")
    server = _setting(settings, "printer.server", "printing.server") or None

    from hardware.printing import PrintService

    with tempfile.TemporaryDirectory(prefix="kiosk-doctor-") as tmp:
        # A private journal: the doctor must not touch the booth's print journal.
        service = PrintService(queue, Path(tmp) / "journal.json", server=server)
        state = service.state()
    reasons = _reasons(state)
    label = str(getattr(state, "state", "") or getattr(state, "status", "") or "")
    words = str(getattr(state, "en", "") or getattr(state, "detail", "") or "")
    code = str(getattr(state, "code", "") or "")
    detail = f"queue {queue}: {code or label or 'state unknown'}"
    if reasons:
        detail += f"; reasons: {', '.join(reasons)}"
    if words:
        detail += f" ({words})"
    paper = [r for r in reasons if r.split("-report")[0].removesuffix("-error").removesuffix(
        "-warning") in PAPER]
    blocking = [r for r in reasons if any(r.startswith(b) for b in BLOCKING)]
    ok_flag = getattr(state, "ok", None)
    if blocking or ok_flag is False or label in ("stopped", "failed", "missing", "offline"):
        hint = ("refill paper / ribbon, then resume from the operator panel or "
                f"`cupsenable {queue}`") if paper else f"`lpstat -p {queue} -l`; `cupsenable {queue}`"
        return CheckResult("printer", FAIL, detail, hint)
    if paper or code == "supply_low":
        return CheckResult("printer", WARN, detail, "paper or ribbon is running low")
    return CheckResult("printer", OK, detail)
