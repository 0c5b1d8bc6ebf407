"""The photo store interface and its errors (see ``center.storage``)."""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator

from center.words import said
from kiosk.errors import KioskError

CHUNK = 64 * 1024
_SHA = re.compile(r"^[0-9a-f]{64}$")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_key(sha: str) -> str:
    """Keys are lowercase hex SHA-256; anything else never reaches a path or a URL."""
    if not _SHA.match(sha):
        raise ValueError("photo key must be a hex SHA-256")
    return sha


class StoreUnavailable(KioskError):
    """The store cannot be reached now (try again later; nothing is lost)."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            "store_unavailable",
            *said("store_unavailable"),
            detail,
        )


class StoreCorrupt(KioskError):
    """What the store holds (or just accepted) does not match its checksum."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            "store_corrupt",
            *said("store_corrupt"),
            detail,
        )


class PhotoStore(ABC):
    """Content-addressed photo objects: key = SHA-256 of the bytes."""

    name: str = "?"

    @abstractmethod
    def put(self, data: bytes, sha: str | None = None) -> str:
        """Store ``data`` durably and verified; return its SHA-256 (the key).

        ``sha``: the hex SHA-256 of ``data`` when the caller has it already (the
        upload hashes its bytes once). What was stored is verified against the
        key either way, so a wrong ``sha`` ends in ``StoreCorrupt``, never in
        bytes filed under another photo's key.
        """

    @abstractmethod
    def size(self, sha: str) -> int | None:
        """Byte size of the object, None when the store does not hold it."""

    @abstractmethod
    def iter_chunks(self, sha: str, chunk: int = CHUNK) -> Iterator[bytes]:
        """The object in pieces of at most ``chunk`` bytes (streaming reads).

        Raises ``FileNotFoundError`` when the key is unknown.
        """

    @abstractmethod
    def delete(self, sha: str) -> bool:
        """Remove the object; True when it was there."""

    @abstractmethod
    def keys(self) -> Iterator[str]:
        """Every key the store holds (backup, retention, audits)."""

    def open_stream(self, sha: str, chunk: int = CHUNK) -> tuple[int, Iterator[bytes]]:
        """(size, chunks) for a response with Content-Length; FileNotFoundError if unknown.

        Backends override it to learn both in one round trip.
        """
        size = self.size(sha)
        if size is None:
            raise FileNotFoundError(sha)
        return size, self.iter_chunks(sha, chunk)

    def get(self, sha: str) -> bytes:
        """The whole object (small consumers: e-mail attachment, compliance check)."""
        return b"".join(self.iter_chunks(sha))

    def exists(self, sha: str) -> bool:
        return self.size(sha) is not None

    def verify(self, sha: str) -> bool:
        """Re-read the object and compare its hash with its key."""
        h = hashlib.sha256()
        for piece in self.iter_chunks(sha):
            h.update(piece)
        return h.hexdigest() == sha

    def close(self) -> None:  # noqa: B027 - optional for backends without resources
        """Release connections (S3 client)."""
