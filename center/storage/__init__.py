"""Where the center keeps photo files, behind one interface (``PhotoStore``).

Three backends, chosen by ``[center_server.photo_store] backend``:

- ``local``: the data directory (``photos/ab/<sha256>.jpg``), the embedded
  default; one host only (or a shared filesystem).
- ``database``: a table of its own (``photo_blobs``) in the center's database,
  apart from the orders, so a small center on PostgreSQL needs no second system.
- ``s3``: an S3-compatible object store (boto3), shared by several hosts.

Every key is the SHA-256 of the photo (content addressing: a retried upload
stores the same object again harmlessly, two versions with the same bytes
share one object). Every write is verified against that checksum before the
database row naming it is committed. Reading is by chunks (``iter_chunks``)
so the console and the ``/d/`` links stream a photo instead of loading it.
A backend that cannot be reached raises ``StoreUnavailable``; the API answers
503 and the kiosk's outbox keeps the photo for a later retry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from center.storage.base import (
    CHUNK,
    PhotoStore,
    StoreCorrupt,
    StoreUnavailable,
    sha256_hex,
)

if TYPE_CHECKING:
    from center.db import Database
    from center.settings import CenterSettings

__all__ = [
    "CHUNK",
    "PhotoStore",
    "StoreCorrupt",
    "StoreUnavailable",
    "open_store",
    "sha256_hex",
]


def open_store(settings: CenterSettings, db: Database) -> PhotoStore:
    """The store the settings name (``photo_store.backend``), ready to use."""
    conf = settings.get("photo_store") or {}
    backend = conf.get("backend", "local")
    if backend == "local":
        from center.storage.local import LocalStore

        return LocalStore(settings.photos_dir)
    if backend == "database":
        from center.storage.database import DatabaseStore

        return DatabaseStore(db)
    if backend == "s3":
        from center.storage.s3 import S3Store

        return S3Store.from_conf(conf.get("s3") or {})
    raise ValueError(f"unknown photo_store.backend {backend!r}")
