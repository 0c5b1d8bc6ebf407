"""Photos in the center's own database, in ``photo_blobs`` (apart from the orders).

For a small center on PostgreSQL a 40 KB photo needs no second system; the
blobs share the database's backups and replication. The table is separate
from ``photo_versions`` so order queries never drag photo bytes along.
On PostgreSQL the write is verified by the server itself
(``encode(sha256(data), 'hex')`` of what it stored); on SQLite by reading it
back. Reads go by ``substring`` chunks, so a download never holds the photo
in memory at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from sqlalchemy import Connection, delete, func, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from center import schema as t
from center.db import Database
from center.storage.base import (
    CHUNK,
    PhotoStore,
    StoreCorrupt,
    StoreUnavailable,
    check_key,
    sha256_hex,
)


class DatabaseStore(PhotoStore):
    name = "database"

    def __init__(self, db: Database) -> None:
        self.db = db

    def _stored_hash(self, conn: Connection, sha: str) -> str | None:
        if self.db.is_sqlite:
            data = conn.execute(
                select(t.photo_blobs.c.data).where(t.photo_blobs.c.sha256 == sha)
            ).scalar()
            return None if data is None else sha256_hex(bytes(data))
        stored: str | None = conn.execute(
            text("SELECT encode(sha256(data), 'hex') FROM photo_blobs WHERE sha256 = :s"),
            {"s": sha},
        ).scalar()
        return stored

    def put(self, data: bytes, sha: str | None = None) -> str:
        sha = check_key(sha or sha256_hex(data))
        try:
            with self.db.write() as conn:
                found = self._stored_hash(conn, sha)
                if found is None:
                    try:
                        with conn.begin_nested():
                            conn.execute(
                                insert(t.photo_blobs).values(
                                    sha256=sha, size=len(data), data=data, created_at=time.time()
                                )
                            )
                    except IntegrityError:
                        pass  # a concurrent upload of the same bytes stored it first
                    found = self._stored_hash(conn, sha)
                if found != sha:
                    raise StoreCorrupt(f"database blob {sha[:12]} hashes to something else")
        except OperationalError as exc:
            raise StoreUnavailable(f"database store: {type(exc.orig).__name__}") from exc
        return sha

    def size(self, sha: str) -> int | None:
        with self.db.read() as conn:
            return conn.execute(
                select(t.photo_blobs.c.size).where(t.photo_blobs.c.sha256 == check_key(sha))
            ).scalar()

    def open_stream(self, sha: str, chunk: int = CHUNK) -> tuple[int, Iterator[bytes]]:
        """Size and first chunk in one query; the rest by ``substr`` chunks."""
        with self.db.read() as conn:
            row = conn.execute(
                select(
                    t.photo_blobs.c.size, func.substr(t.photo_blobs.c.data, 1, chunk)
                ).where(t.photo_blobs.c.sha256 == check_key(sha))
            ).first()
        if row is None:
            raise FileNotFoundError(sha)
        total, first = int(row[0]), bytes(row[1] or b"")

        def gen() -> Iterator[bytes]:
            offset = len(first)
            if first:
                yield first
            while offset < total:
                with self.db.read() as conn:
                    piece = conn.execute(
                        select(func.substr(t.photo_blobs.c.data, offset + 1, chunk)).where(
                            t.photo_blobs.c.sha256 == sha
                        )
                    ).scalar()
                if not piece:
                    return
                piece = bytes(piece)
                offset += len(piece)
                yield piece

        return total, gen()

    def iter_chunks(self, sha: str, chunk: int = CHUNK) -> Iterator[bytes]:
        return self.open_stream(sha, chunk)[1]

    def delete(self, sha: str) -> bool:
        with self.db.write() as conn:
            res = conn.execute(delete(t.photo_blobs).where(t.photo_blobs.c.sha256 == check_key(sha)))
        return res.rowcount == 1

    def keys(self) -> Iterator[str]:
        with self.db.read() as conn:
            rows = conn.execute(select(t.photo_blobs.c.sha256).order_by(t.photo_blobs.c.sha256))
            return iter([r[0] for r in rows])
