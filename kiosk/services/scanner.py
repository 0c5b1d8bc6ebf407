"""QR payloads from the camera and from a keyboard-wedge scanner, classified.

A wedge scanner "types" the payload and presses Enter; when it is the focused
keyboard its keys reach the Kivy window, so ``WedgeBuffer`` assembles them
(fast keys ending in Enter; slow typing by a person is not a scan). A wedge
grabbed through evdev (``hardware.qr.wedge``) calls ``on_payload`` directly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from kiosk import qr_payloads
from kiosk.redact import scrub
from kiosk.session.model import BoothContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scanned:
    kind: str  # collection_code | batch | region | rejected | unknown
    value: str = ""
    reason: str = ""
    context: BoothContext | None = None  # the booth context a verified batch/region poster names


def booth_context(poster: qr_payloads.PosterContext) -> BoothContext:
    """The session's booth context from a verified poster (the one place they convert)."""
    return BoothContext(poster.kind, poster.id, poster.name, poster.feature_required)


def classify(payload: bytes | str, public_keys: list[bytes] | None = None,
             rules: dict[str, object] | None = None) -> Scanned:
    """Through ``kiosk.qr_payloads`` (signed posters verified with the center's keys).

    A poster that could not be verified (no keys yet) keeps its kind but names no
    context, so it can never set the booth's batch or region.
    """
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    text = text.strip()
    try:
        p = qr_payloads.classify(text, public_keys or [], rules=rules)
    except Exception as exc:  # a scan must never stop the scanner thread
        log.warning("scan refused: %s", scrub(f"{type(exc).__name__}: {exc}"))
        return Scanned("rejected", reason=str(getattr(exc, "code", "unreadable")))
    if p.kind in ("batch", "region") and p.context is not None:
        trusted = booth_context(p.context) if p.context.verified else None
        return Scanned(p.kind, p.context.id, context=trusted)
    if p.kind == "collection_code":
        return Scanned(p.kind, p.code)
    return Scanned("rejected", reason=p.reason)


class WedgeBuffer:
    """Keys typed by a wedge scanner, turned into one payload at Enter."""

    def __init__(self, on_payload: Callable[[str], None], max_gap: float = 0.08,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.on_payload = on_payload
        self.max_gap = max_gap
        self.clock = clock
        self._chars: list[str] = []
        self._last = 0.0

    def key(self, text: str | None, enter: bool = False) -> bool:
        """Feed one key; True when it was taken as part of a scan."""
        now = self.clock()
        if self._chars and now - self._last > self.max_gap:
            self._chars = []  # a pause: a person typing, not a scanner
        self._last = now
        if enter:
            payload = "".join(self._chars)
            self._chars = []
            if len(payload) >= 8:
                self.on_payload(payload)
                return True
            return False
        if text and len(text) == 1 and text.isprintable():
            self._chars.append(text)
            return len(self._chars) > 1
        return False
