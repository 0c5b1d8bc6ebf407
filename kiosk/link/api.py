"""What the kiosk may ask the collection center: one typed interface.

The booth talks to the center the same way whether it is a remote service or
the one embedded in this process (``kiosk.link.embedded`` serves it on
loopback and ``kiosk.link.connect.make_client`` hands out the same HTTP
client), so the booth's workers and tests depend on this Protocol, not on a
class; mypy then checks every call's name and arguments, which a method name
passed around as a string never was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from kiosk.link.grants import GrantBook

if TYPE_CHECKING:
    from kiosk.link.client import CenterClient


class CenterApi(Protocol):
    """The center's API as the booth uses it (``kiosk.link.client.CenterClient``)."""

    grants: GrantBook

    def identify(
        self,
        collection_code: str,
        id_last4: str,
        feature_code: str | None = None,
        context: dict[str, str] | None = None,
    ) -> dict[str, Any]: ...

    def end_grants(self) -> int: ...

    def upload(
        self,
        collection_code: str,
        jpeg: bytes,
        idempotency_key: str,
        ticket: str | None = None,
    ) -> dict[str, Any]: ...

    def status(self, collection_code: str) -> dict[str, Any]: ...

    def withdraw(self, collection_code: str) -> dict[str, Any]: ...

    def reprint(
        self,
        collection_code: str,
        layout: int | str,
        copies: int,
        delivery: str = "booth",
        address: str | None = None,
    ) -> dict[str, Any]: ...

    def reprint_printed(self, reprint_no: str) -> dict[str, Any]: ...

    def email(self, collection_code: str, name: str, email: str) -> dict[str, Any]: ...

    def download_link(self, collection_code: str) -> dict[str, Any]: ...

    def heartbeat(
        self,
        health: dict[str, Any],
        counters: dict[str, Any],
        outbox_depth: int,
        version: str,
    ) -> dict[str, Any]: ...

    def keys(self) -> list[bytes]: ...

    def healthz(self) -> bool: ...


def as_api(client: CenterClient) -> CenterApi:
    """The HTTP client (remote or embedded center) is a ``CenterApi``; mypy checks it here."""
    return client
