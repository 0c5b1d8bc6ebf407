"""The booth under faults (issue 10, section 5): a full disk, a damaged outbox, a bad camera.

Everything runs for real: the outbox on a tmpfs filled to the last block (root
mounts it), the real center on loopback, `kiosk outbox status|drain`,
`kiosk worker` and `kiosk camera capture` as subprocesses, the database
truncated or overwritten with garbage on disk.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.link import outbox as outbox_module
from kiosk.link.outbox import Outbox
from tests.link.conftest import (  # noqa: F401 - fixtures: the real center and its client
    CODES,
    FAST,
    center,
    client,
    kiosk_cmd,
    kiosk_config,
    make_jpeg,
    token_file,
)

N_PHOTOS = 8  # one per code (all eight): their bytes must free room for the disk reserve
N_SENT_BEFORE = 2  # acknowledged before the fault, their copies still kept (retention)


def _run(args: list[str], config: Path, state: Path, timeout: float = 60) -> tuple[int, str, str]:
    proc = kiosk_cmd(args, config, state)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def _fill_booth(state: Path, client) -> dict[str, int]:  # noqa: F811
    """Queue one photo per code, upload the first two; returns code -> item id."""
    box = Outbox(state / "outbox" / "outbox.db", FAST)
    try:
        # Near 40 KB each (quality 55), the most the center takes: sending them frees room.
        ids = {code: box.enqueue(code, make_jpeg(700 + i, quality=55), f"fault-test-{i:04d}", meta={"n": i},
                                   upload_ticket=client.grants.upload_ticket(code))
               for i, code in enumerate(CODES[:N_PHOTOS])}
        for _ in range(N_SENT_BEFORE):
            assert box.upload_one(client)[0] == "uploaded"
    finally:
        box.close()
    return ids


def _fill_disk(mnt: Path) -> None:
    fd = os.open(mnt / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (1 << 16, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    assert os.statvfs(mnt).f_bavail == 0


def _all_sent_once(client, state: Path) -> None:  # noqa: F811
    """Every photo is at the center exactly once and acknowledged on the booth once."""
    for code in CODES[:N_PHOTOS]:
        assert client.status(code)["order"]["version"] == 1, code
    db = sqlite3.connect(f"file:{state / 'outbox' / 'outbox.db'}?mode=ro", uri=True)
    rows = db.execute("SELECT idem_key, state FROM items").fetchall()
    db.close()
    keys = [k for k, _ in rows]
    assert len(keys) == len(set(keys))
    assert all(s == "acked" for _, s in rows)  # (or already deleted: the center has them)


def _worker_until_sent(config: Path, state: Path, client) -> str:  # noqa: F811
    """`kiosk worker` until the center has every photo, then SIGTERM; returns its stderr."""
    proc = kiosk_cmd(["worker"], config, state)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if all(client.status(c)["order"]["version"] == 1 for c in CODES[:N_PHOTOS]):
                break
            assert proc.poll() is None, proc.communicate()[1]
            time.sleep(0.2)
        time.sleep(0.5)  # the last acknowledgement is committed after the center answered
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    return err


@pytest.fixture
def booth(tmp_path: Path, center) -> Path:  # noqa: F811
    tok = token_file(tmp_path / "device-token", center.token)
    return kiosk_config(tmp_path / "kiosk.toml", center.base_url, tok)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs as the booth's state directory."""
    mnt = tmp_path / "state"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m,mode=0700", "tmpfs", str(mnt)],
        capture_output=True,
    ).returncode:
        pytest.skip("cannot mount a tmpfs here (not root)")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


# -- a full disk -------------------------------------------------------------------
def test_status_reads_a_full_disk_and_says_so(tiny_disk, booth, client):  # noqa: F811
    _fill_booth(tiny_disk, client)
    _fill_disk(tiny_disk)
    code, out, err = _run(["outbox", "status"], booth, tiny_disk)
    assert code == 0 and "Traceback" not in err, err
    assert f"waiting:   {N_PHOTOS - N_SENT_BEFORE} " in out
    assert "DISK FULL (0 KiB free" in out and "free space" in out
    code, out, err = _run(["outbox", "status", "--json"], booth, tiny_disk)
    st = json.loads(out)
    assert code == 0 and st["disk_full"] and st["pending"] == N_PHOTOS - N_SENT_BEFORE
    code, out, err = _run(["doctor", "--only", "outbox", "--json"], booth, tiny_disk)
    result = next(r for r in json.loads(out)["checks"] if r["name"] == "outbox")
    assert result["status"] == "fail" and "disk full" in result["detail"], out + err
    assert "free space" in result["hint"] and "Traceback" not in err


@pytest.mark.parametrize("uploader", ["drain", "worker"])
def test_uploads_go_on_on_a_full_disk_and_free_it(uploader, tiny_disk, booth, client):  # noqa: F811
    ids = _fill_booth(tiny_disk, client)
    photos = tiny_disk / "outbox" / "photos"
    assert len(list(photos.glob("*.jpg"))) == N_PHOTOS
    _fill_disk(tiny_disk)
    box = Outbox(tiny_disk / "outbox" / "outbox.db", FAST)
    try:  # a new photo is refused cleanly: the room left is for uploading
        with pytest.raises(outbox_module.OutboxFull) as refused:
            box.enqueue(CODES[7], make_jpeg(799), "fault-test-late-0001",
                        upload_ticket=client.grants.upload_ticket(CODES[7]))
        assert "存储空间已满" in refused.value.zh
    finally:
        box.close()
    if uploader == "drain":
        code, out, err = _run(["outbox", "drain"], booth, tiny_disk)
        assert code == 0, out + err
        assert f"uploaded {N_PHOTOS - N_SENT_BEFORE}" in out
        assert "disk full: free space on the kiosk" in out and f"deleted {N_PHOTOS}" in out
    else:
        err = _worker_until_sent(booth, tiny_disk, client)
        full = [line for line in err.splitlines() if "disk full" in line]
        assert len(full) == 1 and "upload worker" in full[0], err  # one line, not one a pass
    assert "Traceback" not in err, err
    _all_sent_once(client, tiny_disk)
    # The copies the center has were deleted at once, so the booth takes photos again.
    assert not list(photos.glob("*.jpg"))
    assert (tiny_disk / "filler").exists()
    box = Outbox(tiny_disk / "outbox" / "outbox.db", FAST)
    try:
        assert all(box.item(i) is None for i in ids.values())
        box.enqueue(CODES[7], make_jpeg(799), "fault-test-late-0001",
                        upload_ticket=client.grants.upload_ticket(CODES[7]))
    finally:
        box.close()


def test_worker_on_a_full_disk_logs_one_line_not_tracebacks(tiny_disk, booth, client):  # noqa: F811
    """The reserve is used up too: the worker says what is wrong once and keeps trying."""
    _fill_booth(tiny_disk, client)
    (tiny_disk / "outbox" / "disk-reserve").unlink()
    _fill_disk(tiny_disk)
    proc = kiosk_cmd(["worker"], booth, tiny_disk)
    time.sleep(4)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "Traceback" not in err, err
    full_lines = [line for line in err.splitlines() if "disk full" in line]
    assert 1 <= len(full_lines) <= 2, err  # opening read-only, then the worker: once each
    (tiny_disk / "filler").unlink()
    err = _worker_until_sent(booth, tiny_disk, client)  # and it catches up when room is back
    _all_sent_once(client, tiny_disk)


# -- a damaged outbox database ------------------------------------------------------
DAMAGE = {
    "truncated": lambda data: data[: len(data) // 2],
    "garbage": lambda data: os.urandom(len(data)),
    "header_kept": lambda data: data[:100] + os.urandom(len(data) - 100),
}


def _damage(state: Path, how: str) -> bytes:
    db = state / "outbox" / "outbox.db"
    assert not Path(f"{db}-wal").exists()  # closed cleanly: all of it is in the file
    bad = DAMAGE[how](db.read_bytes())
    db.write_bytes(bad)
    return bad


@pytest.mark.parametrize("how", sorted(DAMAGE))
@pytest.mark.parametrize("command", ["status", "drain", "worker"])
def test_damaged_outbox_is_set_aside_and_rebuilt_from_the_photos(
    command, how, tmp_path, booth, client, _state_dir  # noqa: F811
):
    _fill_booth(_state_dir, client)
    bad = _damage(_state_dir, how)
    if command == "worker":
        err = _worker_until_sent(booth, _state_dir, client)
    else:
        code, out, err = _run(["outbox", command], booth, _state_dir)
        assert code == 0, out + err
        if command == "status":
            assert "REBUILT at" in out and f"rebuilt from {N_PHOTOS} photo(s)" in out
            assert f"waiting:   {N_PHOTOS} " in out  # all adopted, the sent ones too
            code, out, err2 = _run(["outbox", "drain"], booth, _state_dir)
            assert code == 0 and "Traceback" not in err2, out + err2
    assert "Traceback" not in err, err
    assert "damaged" in err and "set aside as outbox.db.damaged-" in err
    kept = list((_state_dir / "outbox").glob("outbox.db.damaged-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == bad  # kept as it was, for the operator
    _all_sent_once(client, _state_dir)
    code, out, err = _run(["doctor", "--only", "outbox", "--json"], booth, _state_dir)
    result = next(r for r in json.loads(out)["checks"] if r["name"] == "outbox")
    assert result["status"] == "warn" and kept[0].name in result["detail"], out + err


def test_rebuild_carries_every_sidecar_field_over(_state_dir):
    """Fields of the sidecar (the upload ticket, the meta) survive a rebuild: without
    its ticket a rebuilt photo could not be uploaded once the student has gone."""
    path = _state_dir / "outbox" / "outbox.db"
    box = Outbox(path, FAST)
    for i, code in enumerate(CODES[:3]):
        box.enqueue(code, make_jpeg(900 + i), f"carry-over-{i:04d}", meta={"lang": "zh"},
                    upload_ticket=f"ticket-for-carry-over-{i:04d}")
    box.close()
    path.write_bytes(b"this is not an SQLite database" * 100)
    box = Outbox(path, FAST)
    try:
        assert box.rebuilt and box.rebuilt["adopted"] == 3
        rows = box._db.execute("SELECT idem_key, upload_ticket, meta FROM items").fetchall()
    finally:
        box.close()
    assert {r["upload_ticket"] for r in rows} == {f"ticket-for-carry-over-{i:04d}" for i in range(3)}
    assert all(json.loads(r["meta"]) == {"lang": "zh"} for r in rows)


# -- a bad camera backend -----------------------------------------------------------
@pytest.mark.parametrize("command", [["capture", "-o", "{tmp}/still.jpg"], ["list", "--open"]])
def test_camera_with_a_bad_backend_is_one_line_and_exit_3(command, tmp_path):
    command = [c.format(tmp=tmp_path) for c in command]
    config = tmp_path / "kiosk.toml"
    config.write_text('[camera]\nbackend = "nonsense"\n', encoding="utf-8")
    proc = kiosk_cmd(["camera", *command], config, tmp_path)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 3, stdout + stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith("kiosk:")]
    # The typed settings refuse it before any camera is opened, naming file, line and key.
    assert len(lines) == 1 and "配置有误" in lines[0], stderr
    assert f"{config}:2:" in stderr and "camera.backend" in stderr and "'nonsense'" in stderr
    assert not (tmp_path / "still.jpg").exists()


def test_openers_finding_the_damage_at_once_set_it_aside_once(booth, client, _state_dir):  # noqa: F811
    """The screen, the worker and an operator's status may all open the damaged file at once."""
    import threading

    _fill_booth(_state_dir, client)
    _damage(_state_dir, "garbage")
    start = threading.Barrier(8)
    boxes: list[Outbox] = []
    errors: list[BaseException] = []

    def opener() -> None:
        start.wait()
        try:
            boxes.append(Outbox(_state_dir / "outbox" / "outbox.db", FAST))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert not errors, errors
        kept = list((_state_dir / "outbox").glob("outbox.db.damaged-*"))
        assert len(kept) == 1, kept
        assert sum(1 for b in boxes if b.rebuilt) == 1
        assert {b.depth() for b in boxes} == {N_PHOTOS}  # all see the one rebuilt queue
    finally:
        for b in boxes:
            b.close()
    code, out, err = _run(["outbox", "drain"], booth, _state_dir)
    assert code == 0, out + err
    _all_sent_once(client, _state_dir)


def test_doctor_as_another_user_reports_the_damage_without_touching_it(booth, client, _state_dir):  # noqa: F811
    """Root over SSH reads a kiosk-owned outbox read-only: it says what to run, changes nothing."""
    if os.geteuid() != 0:
        pytest.skip("needs root to give the file to another user")
    _fill_booth(_state_dir, client)
    bad = _damage(_state_dir, "truncated")
    db = _state_dir / "outbox" / "outbox.db"
    os.chown(db, 65534, 65534)
    code, out, err = _run(["doctor", "--only", "outbox", "--json"], booth, _state_dir)
    result = next(r for r in json.loads(out)["checks"] if r["name"] == "outbox")
    assert result["status"] == "fail" and "damaged" in result["detail"], out + err
    assert "kiosk outbox status" in result["hint"] and "Traceback" not in err
    assert db.read_bytes() == bad and not list(db.parent.glob("outbox.db.damaged-*"))


def test_running_worker_rebuilds_a_database_damaged_under_it(client, center, _state_dir, caplog):  # noqa: F811
    """The file is overwritten while the screen and the worker have it open."""
    from kiosk.link.client import CenterClient
    from kiosk.link.worker import UploadWorker

    path = _state_dir / "outbox" / "outbox.db"
    worker_box, screen_box = Outbox(path, FAST), Outbox(path, FAST)
    try:
        for i, code in enumerate(CODES[:3]):
            screen_box.enqueue(code, make_jpeg(950 + i), f"under-it-{i:04d}",
                               upload_ticket=client.grants.upload_ticket(code))
        screen_box._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # all of it in the file
        with path.open("r+b") as fh:
            fh.write(os.urandom(path.stat().st_size))
        screen_box.retry_now()  # a write by the screen: the worker's cached pages are stale
        worker = UploadWorker(worker_box, lambda: CenterClient(center.base_url, center.token),
                              heartbeat_interval_s=600.0)
        for _ in range(3):
            worker.step()
        assert worker.counters["uploaded"] == 3
        assert worker_box.status()["rebuilt"]["adopted"] == 3
    finally:
        worker_box.close()
        screen_box.close()
    assert "Traceback" not in caplog.text and "housekeeping failed" not in caplog.text
    assert "set aside as outbox.db.damaged-" in caplog.text
    assert all(client.status(code)["order"]["version"] == 1 for code in CODES[:3])
