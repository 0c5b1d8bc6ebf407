"""Device failures with a stable code, a student/operator sentence and operator detail.

The same shape as ``kiosk.errors.KioskError`` (which ``hardware`` may not import),
so the kiosk side converts one into the other without guessing words.
"""

from __future__ import annotations

from hardware.words import words


class DeviceError(Exception):
    """An expected device failure. ``reopen`` says whether re-opening may help."""

    def __init__(
        self, code: str, zh: str, en: str, detail: str = "", *, reopen: bool = False
    ) -> None:
        super().__init__(f"{code}: {en}" + (f" ({detail})" if detail else ""))
        self.code = code
        self.zh = zh
        self.en = en
        self.detail = detail
        self.reopen = reopen


class DeviceTimeout(DeviceError):
    """The device did not answer in time; the call may still be stuck in the driver."""

    def __init__(self, what: str, seconds: float) -> None:
        super().__init__(
            "device_timeout",
            *words("device_timeout"),
            f"{what} gave no answer within {seconds:.1f} s",
            reopen=True,
        )


class DeviceUnavailable(DeviceError):
    """The device is closed and waiting out its back-off before the next re-open."""
