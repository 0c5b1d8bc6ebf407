"""``kiosk center backup DIR`` / ``kiosk center restore DIR``: the database and the photos.

A backup directory holds:

- ``tables/<name>.jsonl``: every row of every table, one JSON object a line
  (bytes as base64), read inside **one** read-only transaction (PostgreSQL:
  ``REPEATABLE READ``, a snapshot; SQLite in WAL mode: one read transaction),
  so the rows agree with each other while uploads go on. JSON lines rather
  than ``pg_dump``: the same backup restores on SQLite or PostgreSQL and into
  any photo store.
- ``photos/ab/<sha256>.jpg``: every photo the snapshot names, copied from the
  store in chunks and checked against its hash. Photos are content-addressed
  and never change, and the store holds a photo before the row naming it
  commits, so every photo of the snapshot is there to copy.
- ``keys/*``: every file of the secrets directory (poster signing key, link and
  session secrets), so posters on the walls and download links already sent stay
  valid after a restore.
- ``manifest.json``, written last: schema revision, row counts, the SHA-256 of
  every table file and the list of photos. No manifest: an unfinished backup.

Restore checks every hash first, refuses a center that already holds data
(with a message saying so), then loads all rows in one transaction and the
photos into the configured store.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, LargeBinary, func, insert, select, text

from center import schema as t
from center.storage import PhotoStore
from center.words import said
from durable import write_durable
from kiosk.errors import KioskError

FORMAT = 1
MANIFEST = "manifest.json"
# Rows of these tables are not the center's data: photo bytes travel as files,
# the secrets are replaced, not merged.
SKIP_TABLES = {"photo_blobs"}
# A fresh center already has these rows (created at its first start).
FRESH_TABLES = {"secrets"}
BATCH = 1000


class BackupError(KioskError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            "backup", *said("backup"), detail
        )


@dataclass
class Summary:
    tables: dict[str, int] = field(default_factory=dict)
    photos: int = 0
    revision: str = ""


def _tables() -> list[Any]:
    return [tb for tb in t.metadata.sorted_tables if tb.name not in SKIP_TABLES]


def _encode(row: dict[str, Any], table: Any) -> dict[str, Any]:
    out = {}
    for col in table.columns:
        value = row[col.name]
        if value is not None and isinstance(col.type, LargeBinary):
            value = base64.b64encode(bytes(value)).decode()
        out[col.name] = value
    return out


def _decode(row: dict[str, Any], table: Any) -> dict[str, Any]:
    out = {}
    for col in table.columns:
        if col.name not in row:
            continue
        value = row[col.name]
        if value is not None and isinstance(col.type, LargeBinary):
            value = base64.b64decode(value)
        out[col.name] = value
    return out


def _revision(conn: Connection) -> str:
    return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar() or "")


def _snapshot(conn: Connection, is_sqlite: bool) -> None:
    if not is_sqlite:
        conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
    else:  # the first read starts SQLite's snapshot; take it before any table
        conn.execute(text("SELECT count(*) FROM sqlite_master"))


def _sha_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while piece := fh.read(1 << 20):
            h.update(piece)
    return h.hexdigest()


def backup(db: Any, store: PhotoStore, secrets_dir: Path, out: Path) -> Summary:
    """Write a consistent backup of the center to ``out`` (missing or empty)."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise BackupError(f"{out} is not empty; back up into a new directory")
    (out / "tables").mkdir(parents=True, exist_ok=True)
    summary = Summary()
    shas: set[str] = set()
    files: dict[str, str] = {}
    with db.engine.connect() as conn:
        with conn.begin():
            _snapshot(conn, db.is_sqlite)
            summary.revision = _revision(conn)
            for table in _tables():
                path = out / "tables" / f"{table.name}.jsonl"
                n = 0
                pk = list(table.primary_key.columns)
                query = select(table).order_by(*pk)
                with path.open("w", encoding="utf-8") as fh:
                    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(
                        query
                    )
                    for row in result.mappings():
                        fh.write(json.dumps(_encode(dict(row), table), ensure_ascii=False) + "\n")
                        n += 1
                    fh.flush()
                    os.fsync(fh.fileno())
                summary.tables[table.name] = n
                files[f"tables/{table.name}.jsonl"] = _sha_file(path)
            shas = {
                r[0]
                for r in conn.execute(
                    select(t.photo_versions.c.sha256).where(t.photo_versions.c.purged_at.is_(None))
                )
            }
    for sha in sorted(shas):
        dest = out / "photos" / sha[:2] / f"{sha}.jpg"
        dest.parent.mkdir(parents=True, exist_ok=True)
        h = hashlib.sha256()
        try:
            with dest.open("wb") as fh:
                for piece in store.iter_chunks(sha):
                    h.update(piece)
                    fh.write(piece)
                fh.flush()
                os.fsync(fh.fileno())
        except FileNotFoundError as exc:
            raise BackupError(f"photo {sha[:12]} named by the database is not in the store") from exc
        if h.hexdigest() != sha:
            raise BackupError(f"photo {sha[:12]} in the store does not match its hash")
    summary.photos = len(shas)
    # The secrets directory (poster signing key, download-link and session
    # secrets: center/secret_files.py), so restored links and posters stay valid.
    held = sorted(p for p in Path(secrets_dir).glob("*") if p.is_file()) if Path(secrets_dir).is_dir() else []
    if held:
        (out / "keys").mkdir(exist_ok=True, mode=0o700)
    for key in held:
        write_durable(out / "keys" / key.name, key.read_bytes(), mode=0o600)
        files[f"keys/{key.name}"] = _sha_file(out / "keys" / key.name)
    manifest = {
        "format": FORMAT,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "revision": summary.revision,
        "tables": summary.tables,
        "files": files,
        "photos": sorted(shas),
    }
    write_durable(out / MANIFEST, json.dumps(manifest, indent=1).encode(), mode=0o600)
    return summary


def read_manifest(src: Path) -> dict[str, Any]:
    path = Path(src) / MANIFEST
    if not path.exists():
        raise BackupError(f"{src}: no {MANIFEST} (not a backup, or an unfinished one)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BackupError(f"{path}: not valid JSON") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path}: backup format {manifest.get('format')!r} is not {FORMAT}")
    return dict(manifest)


def verify(src: Path) -> dict[str, Any]:
    """Check every file of a backup against the manifest; the manifest."""
    src = Path(src)
    manifest = read_manifest(src)
    for name, sha in manifest["files"].items():
        path = src / name
        if not path.exists() or _sha_file(path) != sha:
            raise BackupError(f"{name} is missing or damaged (hash differs from the manifest)")
    for sha in manifest["photos"]:
        path = src / "photos" / sha[:2] / f"{sha}.jpg"
        if not path.exists() or _sha_file(path) != sha:
            raise BackupError(f"photo {sha[:12]} is missing or damaged in the backup")
    return manifest


def holdings(db: Any, store: PhotoStore) -> dict[str, int]:
    """What a center already holds: rows per table (fresh-center tables aside), photos."""
    found: dict[str, int] = {}
    with db.read() as conn:
        for table in _tables():
            if table.name in FRESH_TABLES:
                continue
            n = conn.execute(select(func.count()).select_from(table)).scalar() or 0
            if n:
                found[table.name] = n
    photos = sum(1 for _ in store.keys())
    if photos:
        found["photos"] = photos
    return found


def restore(db: Any, store: PhotoStore, secrets_dir: Path, src: Path) -> Summary:
    """Load a backup into an empty center (schema at the backup's revision)."""
    src = Path(src)
    manifest = verify(src)
    with db.read() as conn:
        revision = _revision(conn)
    if revision != manifest["revision"]:
        raise BackupError(
            f"the backup has schema revision {manifest['revision']}, this center "
            f"{revision}: restore with the program version that made the backup"
        )
    held = holdings(db, store)
    if held:
        listing = ", ".join(f"{k} {v}" for k, v in sorted(held.items()))
        raise BackupError(
            f"this center is not empty ({listing}); restore only into a new, empty "
            "center (a new database and data directory), nothing was changed"
        )
    for sha in manifest["photos"]:  # photos first: no row may name a missing photo
        data = (src / "photos" / sha[:2] / f"{sha}.jpg").read_bytes()
        if store.put(data) != sha:
            raise BackupError(f"photo {sha[:12]} changed while being restored")
    summary = Summary(revision=revision, photos=len(manifest["photos"]))
    with db.write() as conn:
        for table in _tables():
            path = src / "tables" / f"{table.name}.jsonl"
            if not path.exists():
                if manifest["tables"].get(table.name):
                    raise BackupError(f"tables/{table.name}.jsonl missing")
                continue
            if table.name in FRESH_TABLES:
                conn.execute(table.delete())
            rows: list[dict[str, Any]] = []
            n = 0
            with path.open(encoding="utf-8") as fh:
                for line in fh:
                    rows.append(_decode(json.loads(line), table))
                    if len(rows) >= BATCH:
                        conn.execute(insert(table), rows)
                        n += len(rows)
                        rows = []
            if rows:
                conn.execute(insert(table), rows)
                n += len(rows)
            summary.tables[table.name] = n
        if not db.is_sqlite:
            _reset_sequences(conn)
    if (src / "keys").is_dir():
        Path(secrets_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
        for key in sorted((src / "keys").glob("*")):
            if key.is_file():
                write_durable(Path(secrets_dir) / key.name, key.read_bytes(), mode=0o600)
    return summary


def _reset_sequences(conn: Connection) -> None:
    """PostgreSQL: serial columns continue after the restored ids."""
    for table in _tables():
        for col in table.primary_key.columns:
            if col.autoincrement is True or (
                col.autoincrement == "auto" and col.type.python_type is int
            ):
                seq = conn.execute(
                    text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": col.name}
                ).scalar()
                if seq:
                    conn.execute(
                        text(
                            f'SELECT setval(:s, COALESCE((SELECT MAX("{col.name}") FROM '
                            f'"{table.name}"), 0) + 1, false)'
                        ),
                        {"s": seq},
                    )
