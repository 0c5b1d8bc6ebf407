"""The screen's watchdog pings reach systemd's notify socket and stop when its loop hangs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

# A stand-in for the Kivy main loop: ticks every 20 ms until the hang file appears,
# then blocks forever (as a stuck main loop would) while the heartbeat thread lives on.
LOOP = """
import os, sys, time
from kiosk import watchdog
hb = watchdog.Heartbeat().start()
watchdog.ready("screen up")
hang = sys.argv[1]
while not os.path.exists(hang):
    hb.tick()
    time.sleep(0.02)
time.sleep(60)
"""


def _recv_all(sock: socket.socket, seconds: float) -> list[str]:
    out: list[str] = []
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            out.append(sock.recv(4096).decode())
        except TimeoutError:
            break
    return out


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_pings_flow_while_loop_ticks_and_stop_when_it_hangs(tmp_path: Path, abstract: bool):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = f"kiosk-test-notify-{os.getpid()}-{time.monotonic_ns()}"
        sock.bind(b"\0" + name.encode())
        notify_socket = "@" + name
    else:
        notify_socket = str(tmp_path / "notify")
        sock.bind(notify_socket)
    hang = tmp_path / "hang"
    env = dict(os.environ, NOTIFY_SOCKET=notify_socket, WATCHDOG_USEC="200000")
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([sys.executable, "-c", LOOP, str(hang)], env=env)
    try:
        first = _recv_all(sock, 1.0)
        assert any("READY=1" in m for m in first), first
        assert "STATUS=screen up" in "\n".join(first)
        alive = [m for m in first if m == "WATCHDOG=1"]
        # 1 s at one ping per 0.1 s: clearly pinging (allow for start-up time).
        assert len(alive) >= 3, first

        hang.touch()
        time.sleep(0.25)  # at most one ping for the tick just before the hang
        sock.settimeout(0)
        while True:
            try:
                sock.recv(4096)
            except BlockingIOError:
                break
        after = _recv_all(sock, 0.6)
        assert after == [], f"pings went on while the loop hung: {after}"
        assert proc.poll() is None  # the process lives: only its loop is stuck
    finally:
        proc.kill()
        proc.wait()
        sock.close()


def test_watchdog_pid_of_another_process_disables_pings(monkeypatch: pytest.MonkeyPatch):
    from kiosk import watchdog

    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert watchdog.watchdog_interval() == 15.0
    monkeypatch.setenv("WATCHDOG_PID", "1")
    assert watchdog.watchdog_interval() is None
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert watchdog.notify("READY=1") is False  # outside systemd: silent no-op
