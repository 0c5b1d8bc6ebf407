"""Many kiosks uploading to one center over loopback: uploads/s and p99 latency.

The center runs as a real ``kiosk center serve`` process; the simulated kiosks
are threads here, each with its own device token and keep-alive connection,
each upload a different student. A trivial authenticated GET measured the same
way in the same run is the baseline the upload figures are compared with.
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from kiosk.bench._stats import line, median_ms, percentile

NAME = "center"
HELP = "50 simulated kiosks uploading to the center: uploads/s, p99 latency"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--kiosks", type=int, default=50)
    parser.add_argument(
        "--rate",
        type=float,
        default=100.0,
        help="uploads per second offered by all kiosks together (paced phase)",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the paced phase")
    parser.add_argument(
        "--saturation",
        type=int,
        default=1000,
        help="uploads in the back-to-back phase (maximum throughput)",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("KIOSK_TEST_PG_URL", ""),
        help="a PostgreSQL server URL; a scratch database is made on it",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="uvicorn worker processes (default 1; PostgreSQL allows more)",
    )
    parser.add_argument(
        "--check-workers",
        type=int,
        default=1,
        help="background compliance-check processes in the center (0: off)",
    )
    parser.add_argument(
        "--api-threads", type=int, default=0, help="center API threads (default: config)"
    )


def _photo() -> bytes:
    from PIL import Image

    from kiosk.paths import PORTRAITS_DIR

    src = next(iter(sorted(PORTRAITS_DIR.glob("*.jpg"))), None)
    img = Image.open(src).convert("RGB") if src else Image.new("RGB", (480, 640), (100, 197, 255))
    w, h = img.size
    cw = min(w, h * 3 // 4)
    ch = cw * 4 // 3
    img = img.crop(((w - cw) // 2, (h - ch) // 2, (w + cw) // 2, (h + ch) // 2)).resize((480, 640))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def _variant(jpeg: bytes, n: int) -> bytes:
    """The same picture with a distinct JPEG comment, so every upload is its own file."""
    text = f"bench {n} {secrets.token_hex(4)}".encode()
    return jpeg[:2] + b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text + jpeg[2:]


def _multipart(code: str, key: str, data: bytes) -> tuple[bytes, str]:
    b = "benchboundary" + secrets.token_hex(6)
    body = (
        (
            f'--{b}\r\nContent-Disposition: form-data; name="collection_code"\r\n\r\n{code}\r\n'
            f'--{b}\r\nContent-Disposition: form-data; name="idempotency_key"\r\n\r\n{key}\r\n'
            f'--{b}\r\nContent-Disposition: form-data; name="photo"; filename="p.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{b}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={b}"


def _pg_scratch(url: str) -> tuple[str, callable]:
    import psycopg

    from center.db import normalize_url

    name = f"kiosk_bench_{os.getpid()}"
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return normalize_url(url.rsplit("/", 1)[0] + "/" + name), drop


def _connect(port: int) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.connect()
    # like urllib3 (the kiosk's client): no Nagle delay between headers and body
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def _drive(
    conns: list[http.client.HTTPConnection],
    jobs: list[list[tuple[str, str, bytes, dict]]],
    interval: float = 0.0,
) -> tuple[list[float], float, int]:
    """Run each kiosk's job list in its own thread; (latencies, wall seconds, errors).

    ``interval`` 0: each kiosk sends its next request as soon as the last one is
    answered (saturation). Otherwise each kiosk sends one request every
    ``interval`` seconds from a random phase, and latency counts from the
    scheduled send time, so a server that falls behind is not flattered
    (no coordinated omission).
    """
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = threading.Barrier(len(jobs) + 1)

    def kiosk(conn: http.client.HTTPConnection, job: list[tuple[str, str, bytes, dict]]) -> None:
        mine, bad = [], 0
        phase = random.uniform(0, interval)
        start.wait()
        begin = time.perf_counter() + phase
        for n, (method, path, body, headers) in enumerate(job):
            t0 = time.perf_counter()
            if interval:
                t0 = begin + n * interval
                delay = t0 - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            conn.request(method, path, body=body or None, headers=headers)
            resp = conn.getresponse()
            resp.read()
            mine.append(time.perf_counter() - t0)
            if resp.status >= 300:
                bad += 1
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [
        threading.Thread(target=kiosk, args=(c, j)) for c, j in zip(conns, jobs, strict=True)
    ]
    for th in threads:
        th.start()
    start.wait()
    t0 = time.perf_counter()
    for th in threads:
        th.join()
    return latencies, time.perf_counter() - t0, errors[0]


GRANT = "X-Kiosk-Grant"


def _upload_tickets(
    center: Any, codes: list[str], tokens: list[str], kiosks: int, phases: tuple[int, ...]
) -> dict[str, str]:
    """The upload ticket identify would have given each code's kiosk (center/grants.py).

    Issued before the run, like photos queued in booths' outboxes: the figures
    measure uploads, not identify. Codes go to kiosks in the order ``run`` sends them.
    """
    from sqlalchemy import select

    from center import grants, orders
    from center import schema as t

    order = iter(codes)
    owner = {next(order): i for per in phases for i in range(kiosks) for _ in range(per)}
    kiosk_ids = [int(tok.split(".")[0]) for tok in tokens]
    tickets = {}
    with center.db.write() as conn:
        ids = dict(conn.execute(select(t.students.c.collection_code, t.students.c.id)).all())
        for code, i in owner.items():
            row = orders.ensure_order(conn, ids[code])
            tickets[code], _ = grants.issue(
                conn, grants.UPLOAD, kiosk_ids[i], ids[code], row.id, 24 * 3600
            )
    return tickets


def run(args: argparse.Namespace) -> int:
    from center.admin import add_kiosk, import_roster, put_context
    from center.service import Center
    from kiosk.cli.center_setup import center_settings

    workdir = Path(tempfile.mkdtemp(prefix="kiosk-bench-center-"))
    drop = None
    if args.db == "postgres":
        if not args.pg_url:
            print("--db postgres needs --pg-url or KIOSK_TEST_PG_URL (scripts/test.d/postgres.sh)")
            return 3
        db_url, drop = _pg_scratch(args.pg_url)
    else:
        db_url = f"sqlite+pysqlite:///{workdir / 'center.db'}"
    workers = args.workers or 1
    conf = workdir / "kiosk.toml"
    conf.write_text(
        (f"[center_server]\napi_threads = {args.api_threads}\n" if args.api_threads else "")
        + f"[center_server.upload]\ncheck_workers = {args.check_workers}\n"
    )
    env = {**os.environ, "KIOSK_CONFIG": str(conf)}
    os.environ["KIOSK_CONFIG"] = str(conf)
    interval = args.kiosks / args.rate
    per_paced = max(1, round(args.seconds / interval))
    per_sat = max(1, args.saturation // args.kiosks)
    proc = None
    try:
        settings = center_settings(data_dir=workdir / "data", db_url=db_url)
        center = Center(settings)
        put_context(center.db, "batch", "BENCH-01", "bench", "2000-01-01", "2099-12-31", "BE01")
        codes = [f"BENCH{n:011d}" for n in range(args.kiosks * (per_paced + per_sat))]
        roster = "collection_code,name,id_last4,school,level,major,batch\n" + "".join(
            f"{c},Student,1234,School,Bachelor,Major,BENCH-01\n" for c in codes
        )
        import_roster(center.db, roster)
        tokens = [add_kiosk(center.db, f"bench-{i}") for i in range(args.kiosks)]
        tickets = _upload_tickets(center, codes, tokens, args.kiosks, (per_paced, per_sat))
        center.close()

        log = (workdir / "center.log").open("wb")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kiosk",
                "center",
                "serve",
                "--data",
                str(workdir / "data"),
                "--db",
                db_url,
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        if not _wait_up(proc, port, workdir / "center.log"):
            return 3

        jpeg = _photo()
        auth = [{"Authorization": f"Bearer {t}"} for t in tokens]
        # one keep-alive connection per kiosk for the whole run (each request's
        # token is checked against its kiosk row: a read and a SHA-256)
        conns = [_connect(port) for _ in range(args.kiosks)]
        _drive(conns, [[("GET", "/api/v1/keys", b"", auth[i])] * 3 for i in range(args.kiosks)])
        base = _drive(
            conns, [[("GET", "/api/v1/keys", b"", auth[i])] * 40 for i in range(args.kiosks)]
        )
        next_code = iter(codes)

        def uploads(per: int) -> list[list[tuple[str, str, bytes, dict]]]:
            jobs = []
            for i in range(args.kiosks):
                job = []
                for _ in range(per):
                    code = next(next_code)
                    body, ctype = _multipart(
                        code, f"bench-{code}-{secrets.token_hex(4)}", _variant(jpeg, len(job))
                    )
                    job.append(("POST", "/api/v1/photos", body,
                                {**auth[i], "Content-Type": ctype, GRANT: tickets[code]}))
                jobs.append(job)
            return jobs

        jobs = uploads(per_paced)
        cpu0 = _cpu_seconds(proc.pid)
        paced = _drive(conns, jobs, interval=interval)
        cpu_per_upload = (_cpu_seconds(proc.pid) - cpu0) / max(1, len(paced[0]))
        saturated = _drive(conns, uploads(per_sat))
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if drop:
            drop()

    print(
        f"center bench: {args.db}, {args.kiosks} kiosks, {workers} uvicorn worker(s), "
        f"background check processes {args.check_workers}, photo {len(jpeg)} bytes, "
        f"{os.cpu_count()} CPUs"
    )
    base_rate = len(base[0]) / base[1]
    base_p99 = percentile(base[0], 99)
    print(line("baseline GET /api/v1/keys (saturated)", base_rate, "req/s"))
    print(line("baseline median latency", median_ms(base[0]), "ms"))
    print(line("baseline p99 latency", base_p99 * 1000, "ms"))
    p_rate, p_p99 = len(paced[0]) / paced[1], percentile(paced[0], 99)
    print(
        f"uploads offered at {args.rate:.0f}/s ({args.kiosks} kiosks, one every "
        f"{interval:.2f} s each, {len(paced[0])} uploads):"
    )
    print(line("  uploads completed", p_rate, "uploads/s", ">= 100"))
    print(line("  upload median latency", median_ms(paced[0]), "ms"))
    print(line("  upload p99 latency", p_p99 * 1000, "ms", "<= 250"))
    s_rate, s_p99 = len(saturated[0]) / saturated[1], percentile(saturated[0], 99)
    print(f"uploads saturated ({args.kiosks} kiosks back to back, {len(saturated[0])} uploads):")
    print(line("  uploads completed", s_rate, "uploads/s"))
    print(line("  upload median latency", median_ms(saturated[0]), "ms"))
    print(line("  upload p99 latency", s_p99 * 1000, "ms"))
    print(line("center CPU per upload (paced; server process)", cpu_per_upload * 1000, "ms"))
    print(line("saturated uploads/s ÷ baseline req/s", s_rate / base_rate, "x"))
    print(line("paced upload p99 ÷ baseline p99", p_p99 / base_p99, "x"))
    errors = base[2] + paced[2] + saturated[2]
    print(f"failed requests: {errors}")
    ok = p_rate >= 0.97 * args.rate and args.rate >= 100 and p_p99 <= 0.25 and errors == 0
    print("goal met (>= 100 uploads/s with p99 <= 250 ms)" if ok else "goal NOT met")
    return 0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (its threads included), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_up(proc: subprocess.Popen, port: int, log: Path) -> bool:
    deadline = time.monotonic() + 60
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return True
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            print("the center did not start:", log.read_text(errors="replace")[-2000:])
            return False
        time.sleep(0.1)
