"""Many kiosks uploading to one center over loopback: uploads/s, p50/p99, CPU per upload.

The center runs as a real ``kiosk center serve`` process (``--workers N``: a
supervisor and N API processes); the simulated kiosks run in a separate load
process (kiosk/bench/_center_load.py, or several with ``--load-processes``),
each kiosk a thread with its own device token and keep-alive connection, each
upload a different student. The center's CPU (its whole process tree, read
from /proc) and the load generator's are measured and printed apart.

``--processes 1,2,4`` runs the whole bench once per center process count in
one call (PostgreSQL; SQLite takes one process), each on a fresh database, and
ends with a table: uploads/s offered at ``--rate``, p50/p99, center CPU per
upload, saturated uploads/s and its ratio to one process. The load average is
printed before each run: the figures are only as quiet as the machine.

A trivial authenticated GET measured the same way in the same run is the
baseline the upload figures are compared with.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.bench._center_load import variant as _variant
from kiosk.bench._proc import TreeCpu, load_average, postgres_backends, snapshot, spent
from kiosk.bench._stats import line, percentile

NAME = "center"
HELP = "50 simulated kiosks (own process) uploading to 1, 2, 4 center processes"


def _counts(text: str) -> list[int]:
    try:
        out = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("a list of process counts, e.g. 1,2,4") from None
    if not out or any(not 1 <= n <= 64 for n in out):
        raise argparse.ArgumentTypeError("process counts must be 1..64, e.g. 1,2,4")
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--processes",
        type=_counts,
        default=None,
        help="center API process counts to run in turn (default 1,2,4 on PostgreSQL, "
        "1 on SQLite, which takes one process)",
    )
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
        "--load-processes",
        type=int,
        default=1,
        help="processes the simulated kiosks are spread over (never the center's)",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("KIOSK_TEST_PG_URL", ""),
        help="a PostgreSQL server URL; a scratch database named after it is made and dropped",
    )
    parser.add_argument(
        "--check-workers",
        type=int,
        default=1,
        help="background compliance-check processes per center process (0: off)",
    )
    parser.add_argument(
        "--api-threads", type=int, default=0, help="center API threads (default: config)"
    )
    parser.add_argument(
        "--check-photos",
        type=int,
        default=5,
        help="photos whose full compliance check CPU is timed at the end (0: skip)",
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


def _pg_scratch(url: str, tag: str) -> tuple[str, str, Callable[[], None]]:
    """A fresh database beside the one ``url`` names (``<name>_bench_<pid>_<tag>``)."""
    import psycopg

    from center.db import normalize_url

    base, own = url.rsplit("/", 1)
    name = f"{own.split('?')[0]}_bench_{os.getpid()}_{tag}"
    admin = base + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return normalize_url(base + "/" + name), name, drop


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


@dataclass
class Phase:
    latencies: list[float]
    wall: float
    errors: int
    center: TreeCpu  # the center's CPU during the phase
    load_cpu: float  # the load processes' CPU during the phase
    db_cpu: float  # PostgreSQL's backends for the bench database (0 on SQLite)
    db_sessions: int  # PostgreSQL sessions that ended meanwhile (connections churned)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall if self.wall > 0 else float("nan")

    def ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000

    def per_request(self, seconds: float) -> float:
        return seconds / max(1, len(self.latencies)) * 1000


class LoadProcesses:
    """The simulated kiosks, spread over ``n`` processes of kiosk/bench/_center_load.py."""

    def __init__(
        self, n: int, port: int, tokens: list[str], jpeg: bytes, admin_url: str = ""
    ) -> None:
        self.admin_url = admin_url  # PostgreSQL: where pg_stat_database is read
        n = max(1, min(n, len(tokens)))
        self.slices = [list(range(i, len(tokens), n)) for i in range(n)]
        self.procs = [
            subprocess.Popen(
                [sys.executable, "-m", "kiosk.bench._center_load"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(n)
        ]
        photo = base64.b64encode(jpeg).decode()
        self._ask(
            [{"setup": {"port": port, "tokens": [tokens[k] for k in s], "photo": photo}}
             for s in self.slices]
        )

    def _ask(self, commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for p, cmd in zip(self.procs, commands, strict=True):
            assert p.stdin is not None
            p.stdin.write(json.dumps(cmd) + "\n")
            p.stdin.flush()
        answers = []
        for p in self.procs:
            assert p.stdout is not None
            text = p.stdout.readline()
            if not text:
                raise RuntimeError("a load process ended early")
            answers.append(json.loads(text))
        return answers

    def phase(self, center_pid: int, lead: float, db_name: str = "", **cmd: Any) -> Phase:
        """Run one phase in every load process, starting together ``lead`` s from now."""
        start_at = time.time() + lead
        per_kiosk = cmd.pop("per_kiosk", None)
        commands = []
        for s in self.slices:
            c = {**cmd, "start_at": start_at}
            if per_kiosk is not None:
                c["tickets"] = [per_kiosk[k] for k in s]
            commands.append(c)
        # the center is idle until start_at: its CPU from here on is the phase's
        time.sleep(max(0.0, lead / 2))
        before, db_before = snapshot(center_pid), postgres_backends(db_name) if db_name else {}
        sessions = self.sessions(db_name)
        answers = self._ask(commands)
        used = spent(before, snapshot(center_pid))
        db_used = spent(db_before, postgres_backends(db_name)).serving if db_name else 0.0
        sessions = self.sessions(db_name) - sessions
        return Phase(
            latencies=[x for a in answers for x in a["latencies"]],
            wall=max(a["wall"] for a in answers),
            errors=sum(a["errors"] for a in answers),
            center=used,
            load_cpu=sum(a["cpu"] for a in answers),
            db_cpu=db_used,
            db_sessions=sessions,
        )

    def sessions(self, db_name: str) -> int:
        """Sessions ended so far on the bench database (pg_stat_database, PostgreSQL 14+).

        A backend that lives for one request costs a fork and a sign-in on the
        server, and its CPU escapes ``postgres_backends`` (it is gone before the
        second look); this count shows whether the center's pool churns.
        """
        if not db_name or not self.admin_url:
            return 0
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT sessions FROM pg_stat_database WHERE datname = %s", (db_name,)
            ).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def close(self) -> None:
        for p in self.procs:
            try:
                assert p.stdin is not None
                p.stdin.write(json.dumps({"quit": True}) + "\n")
                p.stdin.close()
                p.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                p.kill()


@dataclass
class Run:
    processes: int
    base: Phase
    paced: Phase
    saturated: Phase
    api_processes: int


def _seed(args: argparse.Namespace, workdir: Path, db_url: str, phases: tuple[int, ...]) -> Any:
    from center.admin import add_kiosk, import_roster, put_context
    from center.service import Center
    from kiosk.cli.center_setup import center_settings

    settings = center_settings(data_dir=workdir / "data", db_url=db_url)
    center = Center(settings)
    try:
        put_context(center.db, "batch", "BENCH-01", "bench", "2000-01-01", "2099-12-31", "BE01")
        codes = [f"BENCH{n:011d}" for n in range(args.kiosks * sum(phases))]
        roster = "collection_code,name,id_last4,school,level,major,batch\n" + "".join(
            f"{c},Student,1234,School,Bachelor,Major,BENCH-01\n" for c in codes
        )
        import_roster(center.db, roster)
        tokens = [add_kiosk(center.db, f"bench-{i}") for i in range(args.kiosks)]
        tickets = _upload_tickets(center, codes, tokens, args.kiosks, phases)
    finally:
        center.close()
    return codes, tokens, tickets


def _one_run(args: argparse.Namespace, processes: int, jpeg: bytes, env: dict[str, str]) -> Run:
    workdir = Path(tempfile.mkdtemp(prefix="kiosk-bench-center-"))
    drop, db_name = None, ""
    if args.db == "postgres":
        db_url, db_name, drop = _pg_scratch(args.pg_url, str(processes))
    else:
        db_url = f"sqlite+pysqlite:///{workdir / 'center.db'}"
    interval = args.kiosks / args.rate
    per_paced = max(1, round(args.seconds / interval))
    per_sat = max(1, args.saturation // args.kiosks)
    proc = load = None
    try:
        codes, tokens, tickets = _seed(args, workdir, db_url, (1, per_paced, per_sat))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        log = workdir / "center.log"
        with log.open("wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "kiosk", "center", "serve", "--data",
                 str(workdir / "data"), "--db", db_url, "--port", str(port),
                 "--workers", str(processes)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        if not _wait_up(proc, port, log, processes):
            raise SystemExit(3)
        api = spent({}, snapshot(proc.pid)).processes
        admin_url = args.pg_url.rsplit("/", 1)[0] + "/postgres" if db_name else ""
        load = LoadProcesses(args.load_processes, port, tokens, jpeg, admin_url)
        load.phase(proc.pid, 1.0, phase="get", per=3)  # warm every worker's caches
        base = load.phase(proc.pid, 1.0, phase="get", per=40)
        sequence = iter(codes)

        def uploads(per: int) -> list[list[tuple[str, str]]]:
            out = []
            for _ in range(args.kiosks):
                mine = [next(sequence) for _ in range(per)]
                out.append([(c, tickets[c]) for c in mine])
            return out

        # one upload per kiosk, unmeasured: every API process has served an upload
        # and started its checker before the clock runs
        load.phase(proc.pid, 1.0, phase="upload", interval=0.0, per_kiosk=uploads(1))
        paced = load.phase(
            proc.pid, 2.0, db_name, phase="upload", interval=interval,
            per_kiosk=uploads(per_paced),
        )
        saturated = load.phase(
            proc.pid, 2.0, db_name, phase="upload", interval=0.0, per_kiosk=uploads(per_sat)
        )
        return Run(processes, base, paced, saturated, api)
    finally:
        if load is not None:
            load.close()
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if drop:
            drop()
        shutil.rmtree(workdir, ignore_errors=True)


def _print_run(args: argparse.Namespace, r: Run) -> None:
    interval = args.kiosks / args.rate
    print(line("baseline GET /api/v1/keys (saturated)", r.base.rate, "req/s"))
    print(line("  median / p99 latency", r.base.ms(50), f"/ {r.base.ms(99):.2f} ms"))
    print(
        f"uploads offered at {args.rate:.0f}/s ({args.kiosks} kiosks, one every "
        f"{interval:.2f} s each, {len(r.paced.latencies)} uploads):"
    )
    print(line("  uploads completed", r.paced.rate, "uploads/s", ">= 100"))
    print(line("  upload p50 latency", r.paced.ms(50), "ms"))
    print(line("  upload p99 latency", r.paced.ms(99), "ms", "<= 250"))
    print(line("  center CPU per upload (API processes)", r.paced.per_request(r.paced.center.serving),
               "ms"))
    print(line("  check processes' CPU per upload", r.paced.per_request(r.paced.center.idle), "ms"))
    print(line("  load generator CPU per upload", r.paced.per_request(r.paced.load_cpu), "ms"))
    if args.db == "postgres":
        print(line("  PostgreSQL CPU per upload (lasting backends)",
                   r.paced.per_request(r.paced.db_cpu), "ms"))
        print(line("  PostgreSQL sessions ended per 100 uploads",
                   r.paced.db_sessions / max(1, len(r.paced.latencies)) * 100, ""))
    s = r.saturated
    print(f"uploads saturated ({args.kiosks} kiosks back to back, {len(s.latencies)} uploads):")
    print(line("  uploads completed", s.rate, "uploads/s"))
    print(line("  upload p50 / p99 latency", s.ms(50), f"/ {s.ms(99):.2f} ms"))
    print(line("  center CPU per upload (API processes)", s.per_request(s.center.serving), "ms"))
    print(line("  load generator CPU per upload", s.per_request(s.load_cpu), "ms"))
    if args.db == "postgres":
        print(line("  PostgreSQL CPU per upload", s.per_request(s.db_cpu), "ms"))
    print(line("saturated uploads/s ÷ baseline req/s", s.rate / r.base.rate, "x"))
    print(f"failed requests: {r.base.errors + r.paced.errors + s.errors}")


def _goal(args: argparse.Namespace, r: Run) -> bool:
    return (
        args.rate >= 100
        and r.paced.rate >= 0.97 * args.rate
        and r.paced.ms(99) <= 250
        and r.base.errors + r.paced.errors + r.saturated.errors == 0
    )


def _print_table(args: argparse.Namespace, runs: list[Run]) -> None:
    one = runs[0].saturated.rate if runs[0].processes == 1 else float("nan")
    print()
    print(f"{args.db}, {args.kiosks} kiosks in {args.load_processes} load process(es), "
          f"offered {args.rate:.0f} uploads/s; CPU ms per upload (paced): center API "
          "processes | PostgreSQL | load generator")
    head = (f"{'procs':>5} {'up/s':>7} {'p50 ms':>7} {'p99 ms':>8} {'CPU ms':>7} {'db ms':>6}"
            f" {'load ms':>7} {'sat up/s':>9} {'× 1 proc':>8}  goal")
    print(head)
    for r in runs:
        p = r.paced
        print(
            f"{r.processes:>5} {p.rate:>7.1f} {p.ms(50):>7.1f} {p.ms(99):>8.1f} "
            f"{p.per_request(p.center.serving):>7.2f} {p.per_request(p.db_cpu):>6.2f} "
            f"{p.per_request(p.load_cpu):>7.2f} "
            f"{r.saturated.rate:>9.1f} {r.saturated.rate / one:>8.2f}  "
            f"{'met' if _goal(args, r) else 'NOT met'}"
        )


def run(args: argparse.Namespace) -> int:
    counts = args.processes or ([1, 2, 4] if args.db == "postgres" else [1])
    if args.db == "sqlite" and counts != [1]:
        print("SQLite takes one center process (writes are serialized in-process); "
              "use --db postgres for more")
        return 3
    if args.db == "postgres" and not args.pg_url:
        print("--db postgres needs --pg-url or KIOSK_TEST_PG_URL (scripts/test.d/postgres.sh)")
        return 3
    if args.kiosks < 1 or args.rate <= 0 or args.seconds <= 0 or args.load_processes < 1:
        print("--kiosks, --rate, --seconds and --load-processes must be positive")
        return 3
    conf = Path(tempfile.mkdtemp(prefix="kiosk-bench-conf-")) / "kiosk.toml"
    conf.write_text(
        (f"[center_server]\napi_threads = {args.api_threads}\n" if args.api_threads else "")
        + f"[center_server.upload]\ncheck_workers = {args.check_workers}\n"
    )
    env = {**os.environ, "KIOSK_CONFIG": str(conf)}
    os.environ["KIOSK_CONFIG"] = str(conf)
    jpeg = _photo()
    print(
        f"center bench: {args.db}, {args.kiosks} kiosks in {args.load_processes} load "
        f"process(es), check processes per center process {args.check_workers}, "
        f"photo {len(jpeg)} bytes, {os.cpu_count()} CPUs"
    )
    runs = []
    for n in counts:
        print(f"\n== {n} center process(es); load average before: {load_average()}")
        r = _one_run(args, n, jpeg, env)
        print(f"(processes in the center's tree, checkers apart: {r.api_processes})")
        _print_run(args, r)
        runs.append(r)
    _print_table(args, runs)
    if args.check_photos > 0:
        print(line("compliance check CPU per photo (median)", _check_cpu(args.check_photos),
                   "ms"))
    print(f"load average after: {load_average()}")
    met = all(_goal(args, r) for r in runs)
    print("goal met (>= 100 uploads/s with p99 <= 250 ms) in every run" if met
          else "goal NOT met in every run")
    return 0


def _check_cpu(n: int) -> float:
    """CPU of the center's full compliance check (center/checks.py) on n booth-sized
    photos, in this process after one untimed check (models loaded): what a
    check worker spends per upload."""
    import statistics

    from center.checks import run_check

    jpeg = _photo()
    run_check(jpeg)
    samples = []
    for i in range(n):
        data = _variant(jpeg, i)
        t0 = time.process_time()
        run_check(data)
        samples.append(time.process_time() - t0)
    return statistics.median(samples) * 1000


def _wait_up(proc: subprocess.Popen[bytes], port: int, log: Path, processes: int) -> bool:
    """/healthz answers and, with N workers, the supervisor has N + 1 serving processes."""
    deadline = time.monotonic() + 90
    want = 1 if processes == 1 else processes + 1
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200 and spent({}, snapshot(proc.pid)).processes >= want:
                return True
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            print("the center did not start:", log.read_text(errors="replace")[-2000:])
            return False
        time.sleep(0.2)
