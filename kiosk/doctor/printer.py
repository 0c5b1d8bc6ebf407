"""The CUPS queue exists, accepts jobs, and has paper and ink (printer-state-reasons).

The verdict comes from the printer's ``Health`` (``hardware.printing``'s reading
of the state reasons), the same the operator panel and the heartbeat show.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hardware.health import Health
from kiosk.doctor import WARN, CheckResult, from_health

# The printer's states (hardware.printing.reasons codes) that paper or ribbon fixes.
PAPER_CODES = ("out_of_paper", "out_of_ribbon", "paper_jam", "supply_low")


def _setting(settings: Any, *keys: str) -> str:
    for key in keys:
        value = settings.get(key)
        if value:
            return str(value)
    return ""


def _service(settings: Any, journal_dir: Path) -> Any:
    from hardware.printing import PrintService

    # A private journal: the doctor must not touch the booth's print journal.
    server = _setting(settings, "printer.server", "printing.server") or None
    return PrintService(_setting(settings, "printer.queue", "printing.queue"),
                        journal_dir / "journal.json", server=server)


def printer_health(settings: Any) -> Health | None:
    """The configured queue's health in the one device shape (None: no queue configured).

    The heartbeat's printer entry; the doctor's verdict below reads the same state.
    """
    if not _setting(settings, "printer.queue", "printing.queue"):
        return None
    try:
        with tempfile.TemporaryDirectory(prefix="kiosk-doctor-") as tmp:
            return _service(settings, Path(tmp)).health()
    except Exception as exc:  # noqa: BLE001 - CUPS down or pycups missing
        return Health("unknown", type(exc).__name__)


def check(settings: Any) -> CheckResult:
    queue = _setting(settings, "printer.queue", "printing.queue")
    if not queue:
        return CheckResult("printer", WARN, "no printer queue configured: no prints at the booth",
                           "set printer.queue in /etc/kiosk/kiosk.toml (`lpstat -p` lists queues)")
    with tempfile.TemporaryDirectory(prefix="kiosk-doctor-") as tmp:
        state = _service(settings, Path(tmp)).state()
    health = state.health(queue)
    detail = f"queue {queue}: {state.code}"
    if state.reasons:
        detail += f"; reasons: {', '.join(state.reasons)}"
    if state.en:
        detail += f" ({state.en})"
    if health.paper_left is not None:
        detail += f"; {health.paper_left} sheets left"
    paper = state.code in PAPER_CODES
    hint = ("refill paper / ribbon, then resume from the operator panel or "
            f"`cupsenable {queue}`") if paper else f"`lpstat -p {queue} -l`; `cupsenable {queue}`"
    if health.state == "degraded":
        hint = "paper or ribbon is running low"
    return from_health("printer", health, detail, hint)
