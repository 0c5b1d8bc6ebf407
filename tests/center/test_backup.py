"""``kiosk center backup`` / ``restore`` / ``purge`` through the real command.

A seeded center (orders in several states, photos, a reprint, an e-mail, audit
lines) is backed up while stopped, restored into a fresh center, and every row
of every table and every photo's hash is compared; the restored center then
serves the same order and photo over HTTP. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select, text

from center import schema as t
from center.db import normalize_url
from tests.center.conftest import (
    PG_URL,
    STUDENT,
    STUDENT_X,
    Running,
    base_overrides,
    completed_order,
    console_client,
    identify,
    reset_pg,
    upload,
)

ROOT = Path(__file__).resolve().parents[2]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def kiosk(*args: str, over: dict[str, Any] | None = None) -> subprocess.CompletedProcess:
    """``kiosk ...`` with the defaults plus the photo store of ``over`` (a center's
    overrides: with KIOSK_TEST_PHOTO_STORE the command must use the same store)."""
    import tempfile

    store = (over or {}).get("photo_store")
    lines = []
    if store:  # KIOSK_TEST_PHOTO_STORE: the command must use the same store
        lines += ["[center_server.photo_store]", f"backend = {_toml_value(store['backend'])}"]
        if "s3" in store:
            lines.append("[center_server.photo_store.s3]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in store["s3"].items()]
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as fh:
        fh.write("\n".join(lines) + "\n")
    env = dict(os.environ, KIOSK_CONFIG=fh.name)
    try:
        return subprocess.run([sys.executable, "-m", "kiosk", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=180)
    finally:
        os.unlink(fh.name)


def store_of(data_dir: Path, url: str, over: dict[str, Any]) -> Any:
    from center.db import Database
    from center.storage import open_store
    from kiosk.cli.center_setup import center_settings

    settings = center_settings(data_dir=data_dir, db_url=url, overrides=over)
    return open_store(settings, Database(url))


def second_pg_url() -> str:
    """A second PostgreSQL database beside KIOSK_TEST_PG_URL's (<name>_r), emptied."""
    base, _, name = PG_URL.rpartition("/")
    other = f"{name}_r"
    engine = create_engine(normalize_url(PG_URL), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": other}).first():
            conn.execute(text(f'CREATE DATABASE "{other}"'))
    engine.dispose()
    url = f"{base}/{other}"
    reset_pg(url)
    return url


def dump(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table; photo bytes (photo_blobs) are compared by hash apart."""
    engine = create_engine(normalize_url(url))
    out = {}
    with engine.connect() as conn:
        for table in t.metadata.sorted_tables:
            if table.name == "photo_blobs":
                continue
            pk = list(table.primary_key.columns)
            out[table.name] = [dict(r._mapping) for r in conn.execute(select(table).order_by(*pk))]
    engine.dispose()
    return out


def seeded(run: Running, photo: bytes, photo2: bytes) -> dict[str, str]:
    """Orders in several states, a reprint with an address, an e-mail request."""
    order_done = completed_order(run, photo)
    c = run.client()
    assert upload(c, STUDENT_X["code"], photo2, "k-pending-x").status_code == 201
    r = c.post("/api/v1/reprints", json={"collection_code": STUDENT["code"], "layout": 1,
                                         "copies": 2, "delivery": "mail",
                                         "address": "广州市天河区五山路 381 号"})
    assert r.status_code == 200, r.text
    assert c.post("/api/v1/email", json={"collection_code": STUDENT["code"], "name": "吴小明",
                                         "email": "wu@example.edu.cn"}).status_code == 202
    assert c.post("/api/v1/heartbeat", json={"health": {"printer": "ok"}}).status_code == 200
    link = c.post("/api/v1/download-link", json={"collection_code": STUDENT["code"]}).json()
    return {"order_no": order_done, "link": link["url"]}


@pytest.fixture(params=["sqlite", "postgres"])
def urls(request, tmp_path: Path) -> tuple[str, str]:
    if request.param == "sqlite":
        return (f"sqlite+pysqlite:///{tmp_path / 'a.db'}", f"sqlite+pysqlite:///{tmp_path / 'b.db'}")
    if not PG_URL:
        pytest.skip("KIOSK_TEST_PG_URL not set")
    reset_pg(PG_URL)
    return PG_URL, second_pg_url()


def test_backup_restore_round_trips_every_row_and_photo(tmp_path, urls, photo, photo2):
    src_url, dst_url = urls
    run = Running(tmp_path / "a", src_url, base_overrides(smtp={"port": 9})).start()
    seen = seeded(run, photo, photo2)
    old_url = run.url
    run.stop()
    before = dump(src_url)
    assert before["photo_versions"] and before["reprints"] and before["email_requests"]

    out = tmp_path / "backup"
    res = kiosk("center", "backup", str(out), "--db", src_url, "--data", str(tmp_path / "a"),
                over=run.overrides)
    assert res.returncode == 0, res.stderr
    assert "2 photos" in res.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tables"]["photo_versions"] == 2 and len(manifest["photos"]) == 2
    # no personal data in the command's output
    assert STUDENT["code"] not in res.stdout + res.stderr

    dst_over = base_overrides()
    res = kiosk("center", "restore", str(out), "--db", dst_url, "--data", str(tmp_path / "b"),
                over=dst_over)
    assert res.returncode == 0, res.stderr
    after = dump(dst_url)
    assert after == before  # every row of every table, secrets included
    store = store_of(tmp_path / "b", dst_url, dst_over)
    for row in after["photo_versions"]:
        sha = row["sha256"]
        assert hashlib.sha256(store.get(sha)).hexdigest() == sha
    for name in ("context_signing_key.ed25519",):  # secrets_dir (center/secret_files.py)
        assert (tmp_path / "b" / "secrets" / name).read_bytes() == (
            tmp_path / "a" / "secrets" / name).read_bytes()

    # The restored center serves the same order, and the old download link works.
    run2 = Running(tmp_path / "b", dst_url, dst_over)
    run2.token = run.token  # the kiosk's token was restored with the kiosks table
    run2.start()
    try:
        order = identify(run2.client(), STUDENT).json()["order"]
        assert (order["order_no"], order["state"]) == (seen["order_no"], "completed")
        link = seen["link"].replace(old_url, run2.url)
        r = httpx.get(link, timeout=10)
        assert r.status_code == 200 and r.content == photo
        # new rows continue after the restored ids (PostgreSQL sequences)
        assert upload(run2.client(), "DEMO2026GD000004", photo2, "k-after-restore").status_code == 201
    finally:
        run2.stop()

    # A second restore into the now non-empty center refuses and changes nothing.
    before_again = dump(dst_url)
    res = kiosk("center", "restore", str(out), "--db", dst_url, "--data", str(tmp_path / "b"),
                over=dst_over)
    assert res.returncode == 3
    assert "not empty" in res.stderr and "nothing was changed" in res.stderr
    assert dump(dst_url) == before_again


def test_restore_refuses_a_damaged_backup_and_backup_needs_an_empty_dir(tmp_path, photo, photo2):
    url = f"sqlite+pysqlite:///{tmp_path / 'a.db'}"
    over = base_overrides()
    run = Running(tmp_path / "a", url, over).start()
    seeded(run, photo, photo2)
    run.stop()
    out = tmp_path / "backup"
    res = kiosk("center", "backup", str(out), "--db", url, "--data", str(tmp_path / "a"), over=over)
    assert res.returncode == 0, res.stderr
    res = kiosk("center", "backup", str(out), "--db", url, "--data", str(tmp_path / "a"), over=over)
    assert res.returncode == 3 and "not empty" in res.stderr
    sha = json.loads((out / "manifest.json").read_text())["photos"][0]
    p = out / "photos" / sha[:2] / f"{sha}.jpg"
    p.write_bytes(p.read_bytes()[:-10])
    dst = f"sqlite+pysqlite:///{tmp_path / 'b.db'}"
    res = kiosk("center", "restore", str(out), "--db", dst, "--data", str(tmp_path / "b"), over=over)
    assert res.returncode == 3 and "damaged" in res.stderr
    assert dump(dst)["orders"] == []  # nothing loaded
    (out / "manifest.json").unlink()
    res = kiosk("center", "restore", str(out), "--db", dst, "--data", str(tmp_path / "b"), over=over)
    assert res.returncode == 3 and "manifest.json" in res.stderr


def test_retention_purges_exported_complete_batches_after_the_days(tmp_path, db_url, photo, photo2):
    run = Running(tmp_path / "a", db_url, base_overrides()).start()
    try:
        order_no = completed_order(run, photo)
        c = run.client()
        link = c.post("/api/v1/download-link", json={"collection_code": STUDENT["code"]}).json()["url"]
        assert c.post("/api/v1/reprints", json={"collection_code": STUDENT["code"], "layout": 1,
                                                "copies": 1, "delivery": "mail",
                                                "address": "广州市天河区五山路 381 号"}).status_code == 200
        store = run.server.center.store
        sha = hashlib.sha256(photo).hexdigest()
        common = ["--db", db_url, "--data", str(run.data_dir), "--json"]

        # not exported yet: nothing is due
        res = kiosk("center", "purge", "--dry-run", "--days", "0", *common, over=run.overrides)
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout)["waiting"] == [{"batch_id": "GD2026-01", "reason": "not exported"}]

        cc = console_client(run)
        assert cc.get("/console/batches/GD2026-01/export.zip").status_code == 200
        # exported, but 30 days have not passed
        res = kiosk("center", "purge", "--days", "30", *common, over=run.overrides)
        assert json.loads(res.stdout)["waiting"][0]["reason"].startswith("due in 30.0 days")
        # without --days and with retention off (the default) a real purge refuses
        res = kiosk("center", "purge", "--db", db_url, "--data", str(run.data_dir), over=run.overrides)
        assert res.returncode == 3 and "retention is off" in res.stderr

        # an upload after the export holds the batch back
        assert upload(c, STUDENT_X["code"], photo2, "k-late-x").status_code == 201
        res = kiosk("center", "purge", "--dry-run", "--days", "0", *common, over=run.overrides)
        reason = json.loads(res.stdout)["waiting"][0]["reason"]
        assert reason == "1 orders not complete"
        c.post("/api/v1/orders/withdraw", json={"collection_code": STUDENT_X["code"]})
        res = kiosk("center", "purge", "--dry-run", "--days", "0", *common, over=run.overrides)
        assert json.loads(res.stdout)["waiting"][0]["reason"] == "photos uploaded after the last export"
        assert cc.get("/console/batches/GD2026-01/export.zip").status_code == 200

        # dry run: says what would go, changes nothing
        res = kiosk("center", "purge", "--dry-run", "--days", "0", *common, over=run.overrides)
        plan = json.loads(res.stdout)
        assert plan["dry_run"] and plan["purged"][0]["batch_id"] == "GD2026-01"
        assert plan["purged"][0]["photos"] == 2 and plan["purged"][0]["reprint_addresses"] == 1
        assert store.exists(sha)
        assert httpx.get(link, timeout=10).status_code == 200

        res = kiosk("center", "purge", "--days", "0", *common, over=run.overrides)
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout)["photos_deleted"] == 2
        assert not store.exists(sha) and list(store.keys()) == []
        assert httpx.get(link, timeout=10).status_code in (404, 410)
        with run.server.db.read() as conn:
            names = {r[0] for r in conn.execute(select(t.students.c.name).where(
                t.students.c.batch_id == "GD2026-01"))}
            assert names == {"已清除"}
            assert conn.execute(select(t.reprints.c.address)).scalars().all() == [None]
            audit = conn.execute(
                select(t.audit_log.c.actor, t.audit_log.c.detail).where(t.audit_log.c.action == "purge")
            ).all()
            order = conn.execute(select(t.orders.c.state).where(t.orders.c.order_no == order_no)).scalar()
        assert len(audit) == 1 and audit[0].actor == "cli:purge" and "GD2026-01" in audit[0].detail
        assert order == "completed"  # the statistics stay
        # the code no longer identifies anyone
        r = identify(c, STUDENT)
        assert r.status_code == 403 and r.json()["error"]["code"] != "locked_out"
        # a second run finds nothing more to do
        res = kiosk("center", "purge", "--days", "0", *common, over=run.overrides)
        assert json.loads(res.stdout)["purged"] == []
    finally:
        run.stop()
