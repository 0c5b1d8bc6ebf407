"""``printer-state-reasons`` turned into what the operator must do.

CUPS reports reasons as IPP keywords with a severity suffix (``-error``,
``-warning``, ``-report``). The booth needs one state per moment, the most
urgent one first: a jam before an empty tray before a low ribbon.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hardware.health import Health, State
from hardware.words import words

# (keyword prefixes, code, blocks printing): most urgent first. The words for
# each code are in config/messages/devices.toml.
RULES: list[tuple[tuple[str, ...], str, bool]] = [
    (("media-jam",), "paper_jam", True),
    (("media-empty", "media-needed", "input-tray-missing"), "out_of_paper", True),
    (("marker-supply-empty", "toner-empty", "marker-waste-full"), "out_of_ribbon", True),
    (("door-open", "cover-open", "interlock-open"), "cover_open", True),
    (("offline", "connecting-to-device", "timed-out", "shutdown"), "offline", True),
    (("marker-supply-low", "toner-low", "media-low"), "supply_low", False),
]
PAUSED, MISSING, REFUSING, OK, OTHER = "paused", "missing", "not_accepting", "ready", "printer_error"

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
    paper_left: int | None = None  # sheets, when the printer counts them (``paper_left``)

    @property
    def health_state(self) -> State:
        if not self.ok:
            return "failed"
        return "degraded" if self.code == "supply_low" else "ok"

    def health(self, queue: str) -> Health:
        """The printer in the booth's one device shape (panel, doctor, heartbeat)."""
        return Health(self.health_state, f"queue {queue}: {self.code}; {self.detail}",
                      self.zh, self.en, paper_left=self.paper_left)

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code, "state": self.state, "ok": self.ok, "zh": self.zh, "en": self.en,
            "reasons": list(self.reasons), "detail": self.detail, "accepting": self.accepting,
            "paper_left": self.paper_left,
        }


def _values(attrs: dict[str, Any], name: str) -> list[Any]:
    """A 1setOf attribute as a list (pycups gives one value bare, several as a list)."""
    value = attrs.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def paper_left(attrs: dict[str, Any]) -> int | None:
    """Sheets left, from the supply levels CUPS keeps (``marker-levels``).

    Levels are usually percentages (``marker-high-levels`` 100), which are not
    sheets and give None. A backend that counts the prints its media kit has left
    reports a high level above 100 (the kit's size); then the lowest such level
    is the sheets left (a dye-sub kit runs out of paper and ribbon together).
    """
    counts = []
    for level, high in zip(_values(attrs, "marker-levels"), _values(attrs, "marker-high-levels"),
                           strict=False):
        try:
            level, high = int(level), int(high)
        except (TypeError, ValueError):
            continue
        if high > 100 and 0 <= level <= high:
            counts.append(level)
    return min(counts) if counts else None


def _bare(reason: str) -> str:
    for suffix in ("-error", "-warning", "-report"):
        if reason.endswith(suffix):
            return reason[: -len(suffix)]
    return reason


def _printer(code: str, state: str, ok: bool, reasons: list[str], detail: str,
             accepting: bool = True, words_of: str = "",
             paper: int | None = None) -> PrinterState:
    zh, en = words(words_of or code)
    return PrinterState(code, state, ok, zh, en, reasons, detail, accepting, paper)


def interpret(attrs: dict[str, Any] | None) -> PrinterState:
    """A ``PrinterState`` from pycups' ``getPrinterAttributes`` (``None``: no such queue)."""
    if attrs is None:
        return _printer(MISSING, "missing", False, [], "no such queue")
    reasons = [r for r in attrs.get("printer-state-reasons", []) if r and r != "none"]
    state = IPP_STATES.get(int(attrs.get("printer-state", 3)), "idle")
    accepting = bool(attrs.get("printer-is-accepting-jobs", True))
    paper = paper_left(attrs)
    message = str(attrs.get("printer-state-message") or "")
    detail = f"{state}; reasons: {', '.join(reasons) or 'none'}" + (f"; '{message}'" if message else "")
    bare = [_bare(r) for r in reasons]
    for prefixes, code, blocks in RULES:
        hit = [r for r, b in zip(reasons, bare, strict=True) if b.startswith(prefixes)]
        if not hit:
            continue
        if code == "offline" and not (state == "stopped" or any(r.endswith("-error") for r in hit)):
            continue  # a transient "connecting" report while printing is not a fault
        if blocks and state != "stopped" and all(r.endswith("-report") for r in hit):
            continue
        return _printer(code, state, not blocks, reasons, detail, accepting, paper=paper)
    if state == "stopped":
        code = "offline" if "offline" in message.lower() else PAUSED
        return _printer(code, state, False, reasons, detail, accepting, paper=paper)
    if any(r.endswith("-error") for r in reasons):
        return _printer(OTHER, state, False, reasons, detail, accepting, paper=paper)
    if not accepting:
        return _printer(REFUSING, state, False, reasons, detail, accepting, paper=paper)
    code = "printing" if state == "printing" else OK
    return _printer(code, state, True, reasons, detail, accepting, words_of=OK, paper=paper)
