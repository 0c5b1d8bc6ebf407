"""``printer-state-reasons`` turned into what the operator must do.

CUPS reports reasons as IPP keywords with a severity suffix (``-error``,
``-warning``, ``-report``). The booth needs one state per moment, the most
urgent one first: a jam before an empty tray before a low ribbon.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# (keyword prefixes, code, blocks printing, zh, en): most urgent first.
RULES: list[tuple[tuple[str, ...], str, bool, str, str]] = [
    (("media-jam",), "paper_jam", True,
     "打印机卡纸，请工作人员处理。", "Paper jam: staff must clear the printer."),
    (("media-empty", "media-needed", "input-tray-missing"), "out_of_paper", True,
     "打印纸用完了，请工作人员加纸。", "Out of paper: staff must refill the printer."),
    (("marker-supply-empty", "toner-empty", "marker-waste-full"), "out_of_ribbon", True,
     "色带（墨）用完了，请工作人员更换。", "Ribbon or ink is empty: staff must replace it."),
    (("door-open", "cover-open", "interlock-open"), "cover_open", True,
     "打印机盖板打开了，请工作人员关好。", "A printer cover is open: staff must close it."),
    (("offline", "connecting-to-device", "timed-out", "shutdown"), "offline", True,
     "打印机未连接或未开机，请工作人员检查。", "The printer is offline: staff must check power and cable."),
    (("marker-supply-low", "toner-low", "media-low"), "supply_low", False,
     "打印纸或色带快用完了，请工作人员准备更换。", "Paper or ribbon is running low."),
]
PAUSED = ("paused", "打印机已暂停，请工作人员恢复打印。", "The printer is paused: staff must resume it.")
MISSING = ("missing", "找不到打印机，请工作人员检查设置。", "The printer queue does not exist: check the settings.")
REFUSING = ("not_accepting", "打印机暂停接收任务，请工作人员恢复。", "The printer is refusing jobs: staff must resume it.")
OK = ("ready", "打印机正常。", "The printer is ready.")
OTHER = ("printer_error", "打印机故障，请工作人员处理。", "The printer reports an error: call staff.")

IPP_STATES = {3: "idle", 4: "printing", 5: "stopped"}


@dataclass(frozen=True)
class PrinterState:
    """The printer as the operator panel shows it.

    ``code``: ready, printing, supply_low, paused, out_of_paper, out_of_ribbon,
    paper_jam, cover_open, offline, not_accepting, printer_error, missing.
    ``ok`` is False when nothing will print until someone acts.
    """

    code: str
    state: str  # idle / printing / stopped / missing (the IPP printer-state)
    ok: bool
    zh: str
    en: str
    reasons: list[str] = field(default_factory=list)
    detail: str = ""
    accepting: bool = True

    @property
    def health_state(self) -> str:
        if not self.ok:
            return "failed"
        return "degraded" if self.code == "supply_low" else "ok"

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code, "state": self.state, "ok": self.ok, "zh": self.zh, "en": self.en,
            "reasons": list(self.reasons), "detail": self.detail, "accepting": self.accepting,
        }


def _bare(reason: str) -> str:
    for suffix in ("-error", "-warning", "-report"):
        if reason.endswith(suffix):
            return reason[: -len(suffix)]
    return reason


def interpret(attrs: dict[str, Any] | None) -> PrinterState:
    """A ``PrinterState`` from pycups' ``getPrinterAttributes`` (``None``: no such queue)."""
    if attrs is None:
        return PrinterState(MISSING[0], "missing", False, MISSING[1], MISSING[2], [], "no such queue")
    reasons = [r for r in attrs.get("printer-state-reasons", []) if r and r != "none"]
    state = IPP_STATES.get(int(attrs.get("printer-state", 3)), "idle")
    accepting = bool(attrs.get("printer-is-accepting-jobs", True))
    message = str(attrs.get("printer-state-message") or "")
    detail = f"{state}; reasons: {', '.join(reasons) or 'none'}" + (f"; '{message}'" if message else "")
    bare = [_bare(r) for r in reasons]
    for prefixes, code, blocks, zh, en in RULES:
        hit = [r for r, b in zip(reasons, bare, strict=True) if b.startswith(prefixes)]
        if not hit:
            continue
        if code == "offline" and not (state == "stopped" or any(r.endswith("-error") for r in hit)):
            continue  # a transient "connecting" report while printing is not a fault
        if blocks and state != "stopped" and all(r.endswith("-report") for r in hit):
            continue
        return PrinterState(code, state, not blocks, zh, en, reasons, detail, accepting)
    if state == "stopped":
        if "offline" in message.lower():
            rule = next(r for r in RULES if r[1] == "offline")
            return PrinterState("offline", state, False, rule[3], rule[4], reasons, detail, accepting)
        return PrinterState(PAUSED[0], state, False, PAUSED[1], PAUSED[2], reasons, detail, accepting)
    if any(r.endswith("-error") for r in reasons):
        return PrinterState(OTHER[0], state, False, OTHER[1], OTHER[2], reasons, detail, accepting)
    if not accepting:
        return PrinterState(REFUSING[0], state, False, REFUSING[1], REFUSING[2], reasons, detail,
                            accepting)
    code = "printing" if state == "printing" else OK[0]
    return PrinterState(code, state, True, OK[1], OK[2], reasons, detail, accepting)
