"""A device state as the operator panel shows it (hardware.health.Health's shape)."""

from __future__ import annotations

from dataclasses import dataclass

from kiosk import notices


@dataclass(frozen=True)
class Status:
    state: str  # ok | degraded | failed | unknown
    detail: str = ""
    zh: str = ""
    en: str = ""

    @classmethod
    def of(cls, health: object) -> Status:
        """From a ``hardware.health.Health`` (or anything with the same fields)."""
        return cls(
            str(getattr(health, "state", "unknown")),
            str(getattr(health, "detail", "")),
            str(getattr(health, "zh", "")),
            str(getattr(health, "en", "")),
        )


OK = Status("ok")
UNKNOWN = Status("unknown")


def missing(part: str) -> Status:
    return Status("failed", f"{part} is not installed on this booth", *notices.words("not_installed"))
