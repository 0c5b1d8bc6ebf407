"""The one shape of "how is this device": the operator panel, ``kiosk doctor`` and
the heartbeats the center stores all read and write ``Health``.

It lives in ``hardware`` because drivers report it and ``hardware`` may import
nothing of ``kiosk``; the kiosk's services, the doctor and the upload worker use
it as it is. ``as_dict``/``from_dict`` are its wire form in a heartbeat
(``{"camera": {"state": "ok", ...}, "printer": {..., "paper_left": 37}}``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from hardware.words import words

State = Literal["ok", "degraded", "failed", "unknown", "off"]
STATES: tuple[str, ...] = get_args(State)
# The devices a booth reports, in the order the operator panel lists them.
DEVICES = ("camera", "scanner", "printer", "network", "disk", "outbox")
MAX_DETAIL = 200  # characters kept of a detail in a heartbeat


@dataclass(frozen=True)
class Health:
    """``state`` drives the UI (ok / degraded: still usable / failed: call someone;
    unknown: not reported yet; off: switched off by configuration).

    ``detail`` is for the operator (no personal data); ``zh``/``en`` are short
    sentences a student or operator may read on screen. ``paper_left`` is the
    sheets a printer says it has left (None: it does not say).
    """

    state: State
    detail: str = ""
    zh: str = ""
    en: str = ""
    paper_left: int | None = None

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state, "detail": self.detail[:MAX_DETAIL],
                               "zh": self.zh, "en": self.en}
        if self.paper_left is not None:
            out["paper_left"] = self.paper_left
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Health:
        """Read back ``as_dict`` (or a bare state word); anything unknown is ``unknown``."""
        if isinstance(data, str):
            data = {"state": data}
        if not isinstance(data, dict):
            return cls("unknown")
        state = data.get("state")
        paper = data.get("paper_left")
        if isinstance(paper, bool) or not isinstance(paper, int | float) or (
                isinstance(paper, float) and not math.isfinite(paper)) or paper < 0:
            paper = None
        return cls(cast(State, state) if state in STATES else "unknown",
                   str(data.get("detail", ""))[:MAX_DETAIL], str(data.get("zh", "")),
                   str(data.get("en", "")), None if paper is None else int(paper))


def healthy(detail: str = "") -> Health:
    return Health("ok", detail, *words("device_ok"))


def missing(part: str) -> Health:
    """A part this booth has no driver or configuration for."""
    return Health("failed", f"{part} is not installed on this booth", *words("missing_part"))


def unknown(detail: str = "") -> Health:
    return Health("unknown", detail)
