"""The simulated kiosks of ``kiosk bench center``, in a process of their own.

Run as ``python -m kiosk.bench._center_load`` by kiosk/bench/center.py, so the
load generator's CPU is never counted as the center's and the two can be
reported apart. It reads one JSON command per line on stdin and answers one
JSON line on stdout:

- ``{"setup": {"port": P, "tokens": [...], "photo": BASE64}}`` -> ``{"ok": true}``
- ``{"phase": "get", "per": N, "start_at": T}``: each kiosk sends N
  authenticated ``GET /api/v1/keys`` back to back (the baseline);
- ``{"phase": "upload", "tickets": [[[code, ticket], ...] per kiosk],
  "interval": S, "start_at": T}``: each kiosk uploads its codes' photos, one
  every S seconds from a random phase (S = 0: back to back);
- ``{"quit": true}``.

A phase answers ``{"latencies": [...], "wall": s, "errors": n, "cpu": s}``
(``cpu``: this process's user+system seconds during the phase). Every kiosk
has its own keep-alive connection, opened before ``start_at`` (wall-clock
time, so several load processes start together); requests and bodies are built
before it too, so only sending and waiting is timed. Stdlib only: it starts in
a fraction of a second and imports nothing of the center.
"""

from __future__ import annotations

import base64
import http.client
import json
import random
import secrets
import socket
import sys
import threading
import time
from typing import Any

GRANT = "X-Kiosk-Grant"
Request = tuple[str, str, bytes, dict[str, str]]


def variant(jpeg: bytes, n: int) -> bytes:
    """The same picture with a distinct JPEG comment, so every upload is its own file."""
    text = f"bench {n} {secrets.token_hex(4)}".encode()
    return jpeg[:2] + b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text + jpeg[2:]


def multipart(code: str, key: str, data: bytes) -> tuple[bytes, str]:
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


def _connect(port: int) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.connect()
    # like urllib3 (the kiosk's client): no Nagle delay between headers and body
    assert conn.sock is not None
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def drive(port: int, jobs: list[list[Request]], interval: float, start_at: float) -> dict[str, Any]:
    """Run each kiosk's requests in its own thread from ``start_at`` (epoch seconds).

    ``interval`` 0: each kiosk sends its next request as soon as the last one is
    answered (saturation). Otherwise each kiosk sends one request every
    ``interval`` seconds from a random phase, and latency counts from the
    scheduled send time, so a server that falls behind is not flattered
    (no coordinated omission).
    """
    conns = [_connect(port) for _ in jobs]
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    ready = threading.Barrier(len(jobs) + 1)
    # one clock for every thread: perf_counter at the agreed wall-clock start
    begin = time.perf_counter() + (start_at - time.time())

    def kiosk(conn: http.client.HTTPConnection, job: list[Request]) -> None:
        mine, bad = [], 0
        first = begin + (random.uniform(0, interval) if interval else 0.0)
        ready.wait()
        for n, (method, path, body, headers) in enumerate(job):
            t0 = first + n * interval if interval else time.perf_counter()
            delay = t0 - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                conn.request(method, path, body=body or None, headers=headers)
                resp = conn.getresponse()
                resp.read()
                ok = resp.status < 300
            except OSError:
                conn.close()  # reconnects on the next request
                ok = False
            mine.append(time.perf_counter() - t0)
            bad += not ok
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=kiosk, args=cj) for cj in zip(conns, jobs, strict=True)]
    for th in threads:
        th.start()
    delay = begin - time.perf_counter()
    if delay > 0:
        time.sleep(delay)
    cpu0 = time.process_time()
    ready.wait()
    t0 = time.perf_counter()
    for th in threads:
        th.join()
    wall = time.perf_counter() - max(t0, begin)
    cpu = time.process_time() - cpu0
    for c in conns:
        c.close()
    return {"latencies": latencies, "wall": wall, "errors": errors[0], "cpu": cpu}


def main() -> int:
    port, auth, jpeg = 0, [], b""
    for raw in sys.stdin:
        cmd = json.loads(raw)
        if "quit" in cmd:
            return 0
        if "setup" in cmd:
            setup = cmd["setup"]
            port = int(setup["port"])
            auth = [{"Authorization": f"Bearer {tok}"} for tok in setup["tokens"]]
            jpeg = base64.b64decode(setup["photo"])
            answer: dict[str, Any] = {"ok": True}
        elif cmd["phase"] == "get":
            jobs = [[("GET", "/api/v1/keys", b"", a)] * int(cmd["per"]) for a in auth]
            answer = drive(port, jobs, 0.0, float(cmd["start_at"]))
        else:
            jobs = []
            for a, tickets in zip(auth, cmd["tickets"], strict=True):
                job: list[Request] = []
                for code, ticket in tickets:
                    body, ctype = multipart(
                        code, f"bench-{code}-{secrets.token_hex(4)}", variant(jpeg, len(job))
                    )
                    job.append(
                        ("POST", "/api/v1/photos", body, {**a, "Content-Type": ctype, GRANT: ticket})
                    )
                jobs.append(job)
            answer = drive(port, jobs, float(cmd["interval"]), float(cmd["start_at"]))
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
