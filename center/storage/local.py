"""Photos as files in the data directory: ``photos/ab/<sha256>.jpg``.

The embedded default. The file is written atomically with fsync
(``write_durable``) and read back and hashed before ``put`` returns, so a
disk that silently corrupts a write is caught before the order row commits.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from center.storage.base import CHUNK, PhotoStore, StoreCorrupt, StoreUnavailable, check_key
from durable import write_durable


def photo_path(photos_dir: Path, sha: str) -> Path:
    return photos_dir / sha[:2] / f"{sha}.jpg"


class LocalStore(PhotoStore):
    name = "local"

    def __init__(self, photos_dir: Path) -> None:
        self.photos_dir = Path(photos_dir)
        self.photos_dir.mkdir(parents=True, exist_ok=True)

    def path(self, sha: str) -> Path:
        return photo_path(self.photos_dir, check_key(sha))

    def _digest(self, path: Path) -> str:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            while piece := fh.read(CHUNK):
                h.update(piece)
        return h.hexdigest()

    def put(self, data: bytes, sha: str | None = None) -> str:
        sha = sha or hashlib.sha256(data).hexdigest()
        path = self.path(sha)
        try:
            if path.exists() and path.stat().st_size == len(data) and self._digest(path) == sha:
                return sha
            write_durable(path, data, mode=0o640)
            if self._digest(path) != sha:
                path.unlink(missing_ok=True)
                raise StoreCorrupt(f"local write of {sha[:12]} read back with another hash")
        except OSError as exc:
            raise StoreUnavailable(f"local store: {type(exc).__name__}: {exc.strerror}") from exc
        return sha

    def size(self, sha: str) -> int | None:
        try:
            return self.path(sha).stat().st_size
        except FileNotFoundError:
            return None

    def iter_chunks(self, sha: str, chunk: int = CHUNK) -> Iterator[bytes]:
        fh = self.path(sha).open("rb")  # FileNotFoundError before the first chunk

        def gen() -> Iterator[bytes]:
            with fh:
                while piece := fh.read(chunk):
                    yield piece

        return gen()

    def delete(self, sha: str) -> bool:
        try:
            self.path(sha).unlink()
            return True
        except FileNotFoundError:
            return False

    def keys(self) -> Iterator[str]:
        if not self.photos_dir.is_dir():
            return
        for sub in sorted(os.listdir(self.photos_dir)):
            d = self.photos_dir / sub
            if len(sub) != 2 or not d.is_dir():
                continue
            for name in sorted(os.listdir(d)):
                if name.endswith(".jpg") and len(name) == 68:
                    yield name[:-4]
