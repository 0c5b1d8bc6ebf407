"""The grants a kiosk holds for the students it identified (see center/grants.py).

``POST /identify`` answers with a session grant and an upload ticket for that
student's order. The booth keeps them here, by collection code, shared by
every ``CenterClient`` it makes (the screen's calls, the printer thread's
reprint, the outbox drain), and sends the right one as ``X-Kiosk-Grant``:

- the session grant for status, withdraw, download link, e-mail, reprint;
- the upload ticket travels with a submitted photo into the outbox (row and
  sidecar), so the upload works even hours later, after the session ended.

``end_all`` is what the session's end (and the idle wipe) calls: the grants
are ended at the center and forgotten here. Thread-safe.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

HEADER = "X-Kiosk-Grant"


@dataclass(frozen=True)
class Held:
    grant: str
    upload_ticket: str


class GrantBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, Held] = {}

    def put(self, code: str, grant: str, upload_ticket: str) -> None:
        with self._lock:
            self._held[code] = Held(grant, upload_ticket)

    def grant(self, code: str) -> str | None:
        with self._lock:
            held = self._held.get(code)
        return held.grant if held else None

    def upload_ticket(self, code: str) -> str | None:
        with self._lock:
            held = self._held.get(code)
        return held.upload_ticket if held else None

    def take_all(self) -> list[str]:
        """Forget every grant; returns the session grants to end at the center."""
        with self._lock:
            held, self._held = self._held, {}
        return [h.grant for h in held.values()]

    def __len__(self) -> int:
        with self._lock:
            return len(self._held)
