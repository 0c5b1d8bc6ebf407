"""What the session asks of the outside world; answers come back as events.

Every method returns at once. The services run the work in a worker and call
the matching ``Session.on_*`` method on the UI thread with the ``ticket`` the
request carried, so an answer that arrives after the session was wiped (idle
timeout, operator) is recognised as stale and dropped.
"""

from __future__ import annotations

from typing import Any, Protocol

from kiosk.session.model import BoothContext


class Ports(Protocol):
    def identify(self, ticket: int, code: str, last4: str, feature: str, ctx: BoothContext) -> None: ...
    def withdraw(self, ticket: int, code: str) -> None: ...
    def download_link(self, ticket: int, code: str) -> None: ...
    def send_email(self, ticket: int, code: str, name: str, address: str) -> None: ...
    def start_preview(self) -> None: ...
    def stop_preview(self) -> None: ...
    def capture(self, ticket: int) -> None: ...
    def process(self, ticket: int, jpeg: bytes) -> None: ...
    def submit(self, ticket: int, code: str, jpeg: bytes, idempotency_key: str) -> None: ...
    def reprint(self, ticket: int, code: str, master: Any, layout: int, copies: int) -> None: ...
    def forget(self) -> None: ...
    def keep_context(self, ctx: BoothContext) -> None: ...


class RecordingPorts:
    """Ports that only record the requests: the session's unit tests drive the answers."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def record(*args: Any) -> None:
            self.calls.append((name, args))

        return record

    def names(self) -> list[str]:
        return [n for n, _ in self.calls]

    def last(self, name: str) -> tuple[Any, ...]:
        for n, args in reversed(self.calls):
            if n == name:
                return tuple(args)
        raise AssertionError(f"no {name} request in {self.names()}")
