"""Uploads survive killed uploaders and center restarts, on SQLite and PostgreSQL."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

from sqlalchemy import func, select

from center import schema as t
from tests.center.conftest import GRANT, STUDENT, STUDENT_X, granted, upload

# A separate process that sends the upload's headers and part of its body, then
# waits to be killed (or, with "all", sends everything and never reads the answer).
UPLOADER = textwrap.dedent(
    """
    import socket, sys, time
    host, port, token, code, key, path, how, grant = sys.argv[1:9]
    data = open(path, "rb").read()
    b = "----kioskboundary"
    body = (
        f"--{b}\\r\\nContent-Disposition: form-data; name=\\"collection_code\\"\\r\\n\\r\\n{code}\\r\\n"
        f"--{b}\\r\\nContent-Disposition: form-data; name=\\"idempotency_key\\"\\r\\n\\r\\n{key}\\r\\n"
        f"--{b}\\r\\nContent-Disposition: form-data; name=\\"photo\\"; filename=\\"p.jpg\\"\\r\\n"
        "Content-Type: image/jpeg\\r\\n\\r\\n"
    ).encode() + data + f"\\r\\n--{b}--\\r\\n".encode()
    head = (
        f"POST /api/v1/photos HTTP/1.1\\r\\nHost: {host}:{port}\\r\\n"
        f"Authorization: Bearer {token}\\r\\nX-Kiosk-Grant: {grant}\\r\\n"
        f"Content-Type: multipart/form-data; boundary={b}\\r\\n"
        f"Content-Length: {len(body)}\\r\\n\\r\\n"
    ).encode()
    s = socket.create_connection((host, int(port)))
    s.sendall(head + (body if how == "all" else body[: len(body) // 2]))
    print("sent", flush=True)
    time.sleep(60)
    """
)


def _versions(run) -> int:
    with run.server.db.read() as conn:
        return conn.execute(select(func.count()).select_from(t.photo_versions)).scalar_one()


def _kill_uploader(run, tmp_path, photo: bytes, key: str, how: str) -> None:
    path = tmp_path / f"{key}.jpg"
    path.write_bytes(photo)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            UPLOADER,
            "127.0.0.1",
            str(run.server.port),
            run.token,
            STUDENT["code"],
            key,
            str(path),
            how,
            granted(run).headers[GRANT],
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "sent"
        if how == "all":  # let the center finish the request it fully received
            import time

            deadline = time.monotonic() + 10
            while _versions(run) == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)


def test_uploader_killed_mid_transfer_then_retried_counts_once(center, tmp_path, photo):
    _kill_uploader(center, tmp_path, photo, "k-killed-half", "half")
    assert _versions(center) == 0  # half a photo is nothing
    c = center.client()
    first = upload(c, STUDENT["code"], photo, "k-killed-half")
    again = upload(c, STUDENT["code"], photo, "k-killed-half")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert _versions(center) == 1


def test_uploader_killed_before_answer_then_retried_counts_once(center, tmp_path, photo):
    _kill_uploader(center, tmp_path, photo, "k-killed-late", "all")
    assert _versions(center) == 1  # the center took it, the kiosk never heard back
    r = upload(center.client(), STUDENT["code"], photo, "k-killed-late")
    assert r.status_code == 201 and r.json()["order"]["version"] == 1
    assert _versions(center) == 1


def test_center_restart_loses_nothing(center, photo, photo2):
    c = center.client()
    assert upload(c, STUDENT["code"], photo, "k-restart-1").status_code == 201
    assert upload(c, STUDENT_X["code"], photo2, "k-restart-2").status_code == 201
    before = c.post("/api/v1/orders/status", json={"collection_code": STUDENT["code"]}).json()
    port = center.server.port
    center.stop()
    # while the center is down the kiosk cannot reach it ...
    import httpx
    import pytest

    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    center.start(port=port)
    c = center.client()
    after = c.post("/api/v1/orders/status", json={"collection_code": STUDENT["code"]}).json()
    assert after == before and after["order"]["state"] == "pending_review"
    # ... the replay of an upload made before the restart is still recognised
    again = upload(c, STUDENT_X["code"], photo2, "k-restart-2")
    assert again.status_code == 201 and again.json()["order"]["version"] == 1
    assert _versions(center) == 2
    with center.server.db.read() as conn:
        shas = [r[0] for r in conn.execute(select(t.photo_versions.c.sha256))]
    files = {center.server.center.store.get(s) for s in shas}  # any photo store
    assert files == {photo, photo2}


def test_concurrent_retries_of_one_upload_count_once(center, photo):
    from concurrent.futures import ThreadPoolExecutor

    def send(_: int):  # noqa: ANN202
        with center.client() as c:
            r = upload(c, STUDENT["code"], photo, "k-concurrent")
            return r.status_code, r.json()

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(send, range(6)))
    assert {a[0] for a in answers} == {201}
    assert all(a[1] == answers[0][1] for a in answers)
    assert _versions(center) == 1
