"""Photo store put and streamed read, per backend (center/storage).

The baseline measured in the same run is the local store (write + fsync +
read-back hash): what an upload paid before the stores existed. The other
backends are measured against it: the database store on SQLite (and on
PostgreSQL with ``--pg URL``) and the S3 store with ``--s3 URL`` (e.g. a moto
server on loopback: ``.venv/bin/moto_server -p 54339``). Each put stores new
bytes (a fresh 40 KB payload), so content addressing cannot skip the write.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import uuid
from pathlib import Path

from kiosk.bench._stats import line, median_ms, percentile

NAME = "store"
HELP = "photo store put / streamed get per backend (local baseline, database, S3)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--size", type=int, default=40_000, help="bytes per photo")
    parser.add_argument("--pg", default="", help="PostgreSQL URL for the database store")
    parser.add_argument("--s3", default="", help="S3 endpoint URL (bucket created)")


def _measure(store, repeat: int, size: int) -> tuple[list[float], list[float]]:  # noqa: ANN001
    import time

    puts, gets = [], []
    for _ in range(repeat + 2):
        data = os.urandom(size)
        t0 = time.perf_counter()
        sha = store.put(data)
        t1 = time.perf_counter()
        n = sum(len(piece) for piece in store.iter_chunks(sha))
        t2 = time.perf_counter()
        assert n == size
        puts.append(t1 - t0)
        gets.append(t2 - t1)
    return puts[2:], gets[2:]


def run(args: argparse.Namespace) -> int:
    from center.db import Database
    from center.storage.database import DatabaseStore
    from center.storage.local import LocalStore

    with tempfile.TemporaryDirectory() as tmp:
        stores = [("local (baseline)", LocalStore(Path(tmp) / "photos"))]
        sqlite = Database(f"sqlite+pysqlite:///{Path(tmp) / 'c.db'}")
        sqlite.migrate()
        stores.append(("database, SQLite", DatabaseStore(sqlite)))
        if args.pg:
            pg = Database(args.pg)
            pg.migrate()
            stores.append(("database, PostgreSQL", DatabaseStore(pg)))
        if args.s3:
            from center.storage.s3 import S3Store

            stores.append(("s3", S3Store(
                bucket=f"bench-{uuid.uuid4().hex[:12]}", endpoint_url=args.s3,
                access_key_id="bench", secret_access_key="bench", create_bucket=True,
            )))
        print(f"{args.repeat} photos of {args.size} bytes per store")
        base_put = base_get = 0.0
        for name, store in stores:
            puts, gets = _measure(store, args.repeat, args.size)
            put_ms, get_ms = median_ms(puts), median_ms(gets)
            if not base_put:
                base_put, base_get = put_ms, get_ms
            print(line(f"{name}: put median", put_ms, "ms")
                  + f"   p99 {percentile(puts, 99) * 1000:.2f} ms, ×{put_ms / base_put:.2f}")
            print(line(f"{name}: streamed get median", get_ms, "ms")
                  + f"   p99 {percentile(gets, 99) * 1000:.2f} ms, ×{get_ms / base_get:.2f}")
            store.close()
        sqlite.dispose()
    return 0
