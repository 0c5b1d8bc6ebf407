"""What a session knows about the booth and about one student.

Everything about the student lives in one ``StudentData`` object that is
replaced, not edited back, when the session ends: wiping is one assignment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class BoothContext:
    """The batch (centralized) or region (scattered) the booth is set up for."""

    kind: str  # "batch" | "region"
    id: str
    name: str = ""
    feature_required: bool = False

    @property
    def centralized(self) -> bool:
        return self.kind == "batch"


@dataclass(frozen=True)
class Student:
    masked_name: str
    school: str
    level: str
    major: str = ""


@dataclass(frozen=True)
class Order:
    order_no: str
    state: str  # awaiting_photo pending_review rejected processing completed
    label: str = ""
    reason_code: str = ""
    reason_text: str = ""
    version: int = 0
    can_withdraw: bool = False
    can_retake: bool = False
    can_reprint: bool = False

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Order | None:
        if not d:
            return None
        names = cls.__dataclass_fields__.keys()
        return cls(**{k: d[k] for k in names if k in d and d[k] is not None})


@dataclass(frozen=True)
class Notice:
    """A message for the student: an i18n key with parameters, or ready words.

    Words from the center (``KioskError``/``CenterRefused``) arrive already in
    both languages; the kiosk's own messages are keys in ``config/i18n``.
    """

    key: str
    params: dict[str, Any] = field(default_factory=dict)
    zh: str = ""
    en: str = ""
    level: str = "error"  # "error" | "info"

    @classmethod
    def from_error(cls, exc: Any, level: str = "error") -> Notice:
        return cls(getattr(exc, "code", "error"), {}, getattr(exc, "zh", ""),
                   getattr(exc, "en", ""), level)


@dataclass
class StudentData:
    """Everything the kiosk holds about the student in front of it."""

    code: str = ""
    last4: str = ""
    feature: str = ""
    field: str = "last4"  # which entry the keypad types into
    student: Student | None = None
    order: Order | None = None
    wrong_entries: int = 0
    locked_until: float = 0.0
    photo: bytes = b""
    report: Any = None
    master: Any = None
    photo_ok: bool = False
    retakes: int = 0
    idempotency_key: str = ""
    submitted_order: Order | None = None
    queued: bool = False
    download_url: str = ""
    email_name: str = ""
    email_address: str = ""
    email_field: str = "name"  # which entry of the e-mail form the keyboard types into
    email_sent: bool = False
    layout: int = 1
    copies: int = 1
    print_state: str = ""  # "" | queued | printing | attention | done | failed
    print_detail: str = ""
    reprint_no: str = ""


@dataclass
class Counters:
    """Today's figures for the operator panel; reset when the date changes."""

    day: date = field(default_factory=date.today)
    sessions: int = 0
    photos: int = 0
    submitted: int = 0
    queued: int = 0
    prints: int = 0
    timeouts: int = 0

    def roll(self, today: date | None = None) -> None:
        today = today or date.today()
        if today != self.day:
            self.__init__(day=today)  # type: ignore[misc]

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if k != "day"}
