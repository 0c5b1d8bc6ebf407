"""Crashes and contention: kill -9 mid-transfer, two drainers, a full disk, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from kiosk.link.client import CenterClient
from kiosk.link.outbox import Outbox, OutboxFull
from kiosk.link.worker import UploadWorker
from tests.link.conftest import (
    CODES,
    FAST,
    ROOT,
    kiosk_cmd,
    kiosk_config,
    make_jpeg,
    token_file,
)
from tests.link.proxy import Proxy


@pytest.fixture
def proxy(center):
    p = Proxy(center.port)
    yield p
    p.close()


@pytest.fixture
def booth_config(tmp_path, center, proxy) -> Path:
    """A booth whose center.url is the proxy in front of the real center."""
    tok = token_file(tmp_path / "device-token", center.token)
    return kiosk_config(tmp_path / "kiosk.toml", proxy.url, tok)


@pytest.mark.parametrize("moment", ["center_answered", "request_half_sent"])
def test_uploader_killed_mid_transfer_then_restarted_gives_one_version(
    moment, center, client, proxy, booth_config, outbox, _state_dir, ticket
):
    code = CODES[0]
    item = outbox.enqueue(code, make_jpeg(100), "kill9-test-0001", upload_ticket=ticket(code))
    if moment == "center_answered":
        proxy.hold_response = True  # the center stores it; the answer never arrives
        reached = proxy.response_seen
    else:
        proxy.cut_request_after = 20_000  # headers and part of the photo, then a stall
        reached = proxy.request_cut
    uploader = kiosk_cmd(["outbox", "drain", "--once"], booth_config, _state_dir)
    try:
        assert reached.wait(20), uploader.stderr.read() if uploader.poll() is not None else ""
        os.kill(uploader.pid, signal.SIGKILL)
        assert uploader.wait(10) == -signal.SIGKILL
    finally:
        if uploader.poll() is None:
            uploader.kill()
        uploader.communicate()
    expected_before = 1 if moment == "center_answered" else 0
    assert client.status(code)["order"]["version"] == expected_before
    assert outbox.item(item)["state"] == "pending"  # not acknowledged: still queued

    proxy.hold_response, proxy.cut_request_after = False, None
    restarted = kiosk_cmd(["outbox", "drain", "--once"], booth_config, _state_dir)
    out, err = restarted.communicate(timeout=30)
    assert restarted.returncode == 0, out + err
    assert outbox.item(item)["state"] == "acked"
    assert client.status(code)["order"]["version"] == 1  # exactly one version
    assert proxy.uploads == 2  # it really was sent twice


def test_two_workers_draining_at_once_upload_each_photo_once(center, client, proxy, _state_dir, ticket):
    path = _state_dir / "outbox" / "outbox.db"
    box_a, box_b = Outbox(path, FAST), Outbox(path, FAST)  # two connections, like two processes
    codes = CODES[1:7]
    for i, code in enumerate(codes):
        box_a.enqueue(code, make_jpeg(200 + i), f"two-workers-{i:04d}", upload_ticket=ticket(code))
    workers = [
        UploadWorker(box, lambda: CenterClient(proxy.url, center.token),
                     heartbeat_interval_s=600.0, idle_poll_s=0.2)
        for box in (box_a, box_b)
    ]
    for w in workers:
        w.start()
    try:
        deadline = time.monotonic() + 20
        while box_a.depth() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        for w in workers:
            w.stop()
    assert box_a.depth() == 0
    assert proxy.uploads == len(codes)  # no photo was sent twice
    assert sum(w.counters["uploaded"] for w in workers) == len(codes)
    assert all(client.status(c)["order"]["version"] == 1 for c in codes)
    box_a.close()
    box_b.close()


_FSIZE_CHILD = textwrap.dedent("""
    import json, resource, signal, sys
    from pathlib import Path
    from kiosk.link.outbox import Outbox, OutboxFull
    box = Outbox(Path(sys.argv[1]))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
    try:
        box.enqueue("DEMO2026GD000008", Path(sys.argv[2]).read_bytes(), "too-big-0001")
        print(json.dumps({"ok": True}))
    except OutboxFull as exc:
        print(json.dumps(exc.as_dict(), ensure_ascii=False))
""")


def test_full_disk_on_enqueue_is_a_clear_error_and_loses_nothing(client, outbox, tmp_path, ticket):
    """RLIMIT_FSIZE in a subprocess: writes past 20 kB fail like a full disk (EFBIG)."""
    queued = {outbox.enqueue(c, make_jpeg(300 + i), f"before-full-{i:04d}", upload_ticket=ticket(c)): c
              for i, c in enumerate(CODES[:2])}
    photo = tmp_path / "big.jpg"
    photo.write_bytes(make_jpeg(310))
    child = subprocess.run([sys.executable, "-c", _FSIZE_CHILD, str(outbox.path), str(photo)],
                           cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert child.stdout.strip(), child.stderr
    answer = json.loads(child.stdout.strip().splitlines()[-1])
    assert answer["code"] == "outbox_full", child.stderr
    assert "存储空间" in answer["zh"] and answer["detail"]
    assert outbox.depth() == 2
    expected = {outbox.photo_path(i) for i in queued}
    expected |= {p.with_suffix(".json") for p in expected}
    assert set(outbox.photos.iterdir()) == expected  # no stray file from the failed enqueue
    assert outbox.drain_once(client).uploaded == 2  # what was queued still goes out


def test_full_tmpfs_on_enqueue_refuses_the_new_photo_only(client, tmp_path, ticket):
    """A real ENOSPC: the outbox on a tiny tmpfs (needs root to mount)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mnt)], capture_output=True
    ).returncode:
        pytest.skip("cannot mount a tmpfs here (not root)")
    try:
        box = Outbox(mnt / "outbox.db", FAST)
        ok, refused = [], None
        for i in range(40):
            try:
                ok.append(box.enqueue(CODES[i % 8], make_jpeg(400 + i), f"tmpfs-full-{i:04d}", upload_ticket=ticket(CODES[i % 8])))
            except OutboxFull as exc:
                refused = exc
                break
        assert refused is not None and ok, "the tmpfs never filled up"
        assert refused.zh.startswith("设备存储空间已满")
        assert box.depth() == len(ok)
        for item in box.items():  # every queued photo is whole
            assert box.photo_path(item["id"]).stat().st_size == item["size"]
        assert not [p for p in box.photos.iterdir() if p.name.startswith(".")]
        box.close()
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_worker_service_notifies_systemd_and_stops_on_sigterm(center, client, booth_config,
                                                               outbox, tmp_path, _state_dir, ticket):
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify_path = tmp_path / "notify.sock"
    notify.bind(str(notify_path))
    notify.settimeout(20)
    worker = kiosk_cmd(["worker"], booth_config, _state_dir,
                       env={"NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "2000000",
                            "WATCHDOG_PID": ""})
    try:
        messages = []
        while not any("READY=1" in m for m in messages):
            messages.append(notify.recv(4096).decode())
        item = outbox.enqueue(CODES[7], make_jpeg(500), "service-test-0001", upload_ticket=ticket(CODES[7]))  # wakes it
        deadline = time.monotonic() + 15
        while outbox.item(item)["state"] != "acked" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert outbox.item(item)["state"] == "acked"
        while not any("WATCHDOG=1" in m for m in messages):
            messages.append(notify.recv(4096).decode())
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=15)
        assert worker.returncode == 0, err
        notify.settimeout(1)
        while True:
            try:
                messages.append(notify.recv(4096).decode())
            except TimeoutError:
                break
        assert any("STOPPING=1" in m for m in messages)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
        notify.close()
    assert client.status(CODES[7])["order"]["version"] == 1
