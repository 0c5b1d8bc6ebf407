"""The one shape of "how is this device" that the UI and the operator both read."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from hardware.words import words

State = Literal["ok", "degraded", "failed"]


@dataclass(frozen=True)
class Health:
    """``state`` drives the UI (ok / degraded: still usable / failed: call someone).

    ``detail`` is for the operator; ``zh``/``en`` are short sentences a student
    or operator may read on screen.
    """

    state: State
    detail: str
    zh: str
    en: str

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def healthy(detail: str = "") -> Health:
    return Health("ok", detail, *words("device_ok"))
