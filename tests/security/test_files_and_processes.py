"""Issue 10 §4 (and `serve --port 70000`): the center's files and processes.

Real files on disk and real `kiosk center serve` processes.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from center.keys import KEY_FILE
from tests.center.conftest import GRANT, STUDENT, Running, base_overrides, identify, make_jpeg

ROOT = Path(__file__).resolve().parents[2]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _kiosk(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_database_private_and_secrets_apart_from_the_data(tmp_path, db_url):
    os.umask(0o022)  # what a shell gives: files would be 0644
    run = Running(tmp_path / "center", db_url, base_overrides()).start()
    try:
        c = httpx.Client(base_url=run.url, headers={"Authorization": f"Bearer {run.token}"})
        c.headers[GRANT] = identify(c).json()["grant"]["token"]
        db_file = Path(db_url.split(":///")[1])
        assert _mode(db_file) == 0o600
        for side in ("-wal", "-shm"):
            if Path(str(db_file) + side).exists():
                assert _mode(Path(str(db_file) + side)) == 0o600
        assert _mode(run.data_dir) == 0o700
        secrets_dir = run.data_dir / "secrets"
        assert _mode(secrets_dir) == 0o700
        files = sorted(p.name for p in secrets_dir.iterdir())
        assert files == sorted(["console_session.key", "download_link.key", KEY_FILE])
        assert all(_mode(p) == 0o600 for p in secrets_dir.iterdir())
        # the database holds no secret: the table only fingerprints (SHA-256, so hosts
        # sharing the database can tell a stray secrets directory), nor the file's bytes
        from sqlalchemy import select

        from center import schema as t
        from center.secret_files import fingerprint

        with run.server.db.read() as conn:
            rows = {r.name: bytes(r.value) for r in conn.execute(select(t.secrets))}
        assert rows == {
            "fingerprint:poster_signing_key": fingerprint(
                "poster_signing_key", (secrets_dir / KEY_FILE).read_bytes()
            ),
            "fingerprint:download_link": fingerprint(
                "download_link", (secrets_dir / "download_link.key").read_bytes()
            ),
            "fingerprint:console_session": fingerprint(
                "console_session", (secrets_dir / "console_session.key").read_bytes()
            ),
        }
        raw = db_file.read_bytes() + (
            Path(str(db_file) + "-wal").read_bytes() if Path(str(db_file) + "-wal").exists()
            else b""
        )
        for p in secrets_dir.iterdir():
            assert p.read_bytes() not in raw
    finally:
        run.stop()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_secrets_of_an_older_center_move_out_of_the_database(tmp_path, db_url):
    """Links signed before the upgrade stay valid; the row is gone afterwards."""
    from sqlalchemy import insert, select

    from center import links
    from center import schema as t
    from center.db import Database

    data = tmp_path / "center"
    data.mkdir()
    old = Database(db_url)
    old.migrate()
    secret = b"s" * 32
    with old.write() as conn:
        conn.execute(insert(t.secrets).values(name="download_link", value=secret))
    old.dispose()
    (data / KEY_FILE).write_bytes(b"k" * 32)  # the old place of the poster key
    run = Running(data, db_url, base_overrides()).start()
    try:
        assert run.server.center.link_secret == secret
        assert run.server.center.signing_key == b"k" * 32
        assert not (data / KEY_FILE).exists() and (data / "secrets" / KEY_FILE).exists()
        with run.server.db.read() as conn:  # only fingerprints stay (center/secret_files.py)
            names = set(conn.execute(select(t.secrets.c.name)).scalars())
        assert names and all(n.startswith("fingerprint:") for n in names)
        token = links.make_token(secret, "261202093000123456", 1, int(time.time()) + 60)
        assert links.read_token(run.server.center.link_secret, token) is not None
    finally:
        run.stop()


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            pass
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0]
    except OSError:
        return False
    return state != "Z"


def _is_check_worker(pid: int) -> bool:
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_sigterm_stops_serve_and_its_check_worker(tmp_path):
    data = tmp_path / "c"
    seeded = _kiosk("center", "seed-demo", "--kiosk", "booth-1", "--data", str(data))
    assert seeded.returncode == 0, seeded.stderr
    token = seeded.stdout.strip().splitlines()[-1]
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "center", "serve", "--data", str(data),
         "--port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    workers: set[int] = set()
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        c = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                         timeout=30)
        c.headers[GRANT] = identify(c).json()["grant"]["token"]
        r = c.post("/api/v1/photos",
                   data={"collection_code": STUDENT["code"], "idempotency_key": "sigterm-0001"},
                   files={"photo": ("p.jpg", make_jpeg(), "image/jpeg")})
        assert r.status_code == 201, r.text
        # the upload starts the compliance check worker process; the signal comes
        # while it is busy (starting up and checking)
        deadline = time.monotonic() + 60
        while not workers and time.monotonic() < deadline:
            workers = {p for p in _children(proc.pid) if _alive(p) and _is_check_worker(p)}
            time.sleep(0.2)
        assert workers, "no check worker started"
        time.sleep(3)  # it is importing the checker or checking now
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(30)
    # gone with the server, not some time later when its check is done
    deadline = time.monotonic() + 0.3
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    orphans = [p for p in workers if _alive(p)]
    assert rc in (0, -signal.SIGTERM)
    assert "Traceback" not in proc.stderr.read()  # (an orphan would hold this pipe open)
    assert not orphans, "check worker orphaned"


@pytest.mark.parametrize("port", ["70000", "-1"])
def test_serve_on_an_impossible_port_is_one_line_and_exit_3(tmp_path, port):
    r = _kiosk("center", "serve", "--data", str(tmp_path / "c"), "--port", port)
    assert r.returncode == 3
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert port in lines[0]


def test_serve_on_a_busy_port_is_one_line_and_exit_3(tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        r = _kiosk("center", "serve", "--data", str(tmp_path / "c"),
                   "--port", str(busy.getsockname()[1]))
    finally:
        busy.close()
    assert r.returncode == 3
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
