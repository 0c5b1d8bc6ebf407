"""Photo storage behind one interface: local files, the database, an S3 endpoint.

The S3 endpoint is moto's server mode over real HTTP on loopback (a separate
process); the database store runs on SQLite and, with KIOSK_TEST_PG_URL, on
PostgreSQL. What the kiosk meets is checked through the API: the upload is
stored under its hash, the /d/ link and the console stream the same bytes,
and a store that is down answers 503 while the kiosk's outbox keeps the photo.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from center.storage import StoreCorrupt, StoreUnavailable
from center.storage.local import LocalStore
from tests.center.conftest import (
    BATCH_CTX,
    PG_URL,
    STUDENT,
    Running,
    base_overrides,
    completed_order,
    console_client,
    reset_pg,
    upload,
)
from tests.center.s3 import MotoServer, s3_conf


@pytest.fixture(params=["local", "database-sqlite", "database-postgres", "s3"])
def store_center(request, tmp_path: Path, s3_url: str) -> Iterator[Running]:
    kind = request.param
    db = f"sqlite+pysqlite:///{tmp_path / 'c.db'}"
    if kind == "database-postgres":
        if not PG_URL:
            pytest.skip("KIOSK_TEST_PG_URL not set")
        reset_pg(PG_URL)
        db = PG_URL
    conf = {"local": {"backend": "local"}, "s3": s3_conf(s3_url)}.get(kind, {"backend": "database"})
    run = Running(tmp_path / "center", db, base_overrides(photo_store=conf)).start()
    yield run
    run.stop()


def test_upload_is_stored_by_hash_and_served_streamed(store_center, photo, photo2):
    run = store_center
    store = run.server.center.store
    order_no = completed_order(run, photo)
    sha = hashlib.sha256(photo).hexdigest()
    assert store.exists(sha) and store.size(sha) == len(photo) and store.verify(sha)
    assert list(store.keys()) == [sha]
    # on the local store the file is where the layout says; elsewhere not on disk
    on_disk = (run.data_dir / "photos" / sha[:2] / f"{sha}.jpg").exists()
    assert on_disk == isinstance(store, LocalStore)

    c = run.client()
    url = c.post("/api/v1/download-link", json={"collection_code": STUDENT["code"]}).json()["url"]
    with httpx.stream("GET", url, timeout=10) as r:
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        assert int(r.headers["content-length"]) == len(photo)
        assert order_no in r.headers["content-disposition"]
        body = b"".join(r.iter_bytes())
    assert body == photo

    cc = console_client(run)
    vid = _version_id(run, order_no)
    r = cc.get(f"/console/photos/{vid}.jpg")
    assert r.status_code == 200 and r.content == photo
    # the same bytes again (another student) share one object
    r = upload(c, "DEMO2026GD000002", photo, "k-same-bytes-2")
    assert r.status_code == 201, r.text
    assert list(store.keys()) == [sha]
    # a second photo is a second object
    assert upload(c, "DEMO2026GD000004", photo2, "k-other-4").status_code == 201
    assert sorted(store.keys()) == sorted([sha, hashlib.sha256(photo2).hexdigest()])


def _version_id(run: Running, order_no: str) -> int:
    from sqlalchemy import select

    from center import schema as t

    with run.server.db.read() as conn:
        return conn.execute(
            select(t.photo_versions.c.id)
            .join(t.orders, t.orders.c.id == t.photo_versions.c.order_id)
            .where(t.orders.c.order_no == order_no)
        ).scalar_one()


def test_store_contract_chunks_delete_and_bad_keys(store_center):
    store = store_center.server.center.store
    data = os.urandom(200_000)
    sha = store.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert store.put(data) == sha  # idempotent
    pieces = list(store.iter_chunks(sha, 50_000))
    assert [len(p) for p in pieces] == [50_000] * 4 and b"".join(pieces) == data
    assert store.delete(sha) and not store.exists(sha) and not store.delete(sha)
    with pytest.raises(FileNotFoundError):
        list(store.iter_chunks(sha))
    with pytest.raises(ValueError):
        store.size("../../etc/passwd")


def test_a_key_that_is_not_the_bytes_hash_is_refused(store_center):
    """The upload hashes its bytes once and hands the key to the store: a key
    that does not match the bytes must never file them under it."""
    store = store_center.server.center.store
    data = os.urandom(30_000)
    wrong = hashlib.sha256(b"another photo").hexdigest()
    with pytest.raises(StoreCorrupt):
        store.put(data, sha=wrong)
    assert not store.exists(wrong)
    assert list(store.keys()) == []
    right = hashlib.sha256(data).hexdigest()
    assert store.put(data, sha=right) == right and store.verify(right)


def test_local_store_detects_a_damaged_file(tmp_path):
    store = LocalStore(tmp_path / "photos")
    sha = store.put(b"x" * 5000)
    path = store.path(sha)
    path.write_bytes(b"y" + path.read_bytes()[1:])
    assert not store.verify(sha)
    # putting the bytes again repairs the object instead of trusting the name
    assert store.put(b"x" * 5000) == sha and store.verify(sha)


def test_s3_refuses_bytes_damaged_on_the_way(s3_url):
    """A byte flipped after signing: refused (BadDigest on stores that check the
    digests; the ETag comparison on moto, which does not) and nothing is kept."""
    from center.storage.s3 import S3Store

    store = S3Store.from_conf(s3_conf(s3_url)["s3"])

    def flip(request, **_kw) -> None:  # noqa: ANN001 - botocore's event arguments
        body = request.body.getvalue()
        request.body = io.BytesIO(body[:50] + bytes([body[50] ^ 0xFF]) + body[51:])

    store.client.meta.events.register("before-send.s3.PutObject", flip)
    data = os.urandom(4000)
    with pytest.raises(StoreCorrupt):
        store.put(data)
    assert list(store.keys()) == []
    store.client.meta.events.unregister("before-send.s3.PutObject", flip)
    assert store.put(data) == hashlib.sha256(data).hexdigest()
    store.close()


def test_s3_down_means_503_and_the_outbox_keeps_the_photo(tmp_path, photo):
    """The object store stops: the upload is refused with 503, the kiosk's outbox
    keeps the photo and delivers it once the store is back; nothing doubles."""
    from kiosk.link.client import CenterClient
    from kiosk.link.outbox import Outbox, OutboxPolicy

    moto = MotoServer().start()
    conf = s3_conf(moto.url)
    run = Running(
        tmp_path / "center", f"sqlite+pysqlite:///{tmp_path / 'c.db'}", base_overrides(photo_store=conf)
    ).start()
    box = Outbox(tmp_path / "outbox" / "outbox.db", OutboxPolicy(backoff_base_s=0.01, jitter=0.0))
    try:
        moto.stop()
        r = upload(run.client(), STUDENT["code"], photo, "k-store-down-1")
        assert r.status_code == 503 and r.headers["retry-after"]
        assert r.json()["error"]["code"] == "store_unavailable"
        assert STUDENT["code"] not in r.text

        with CenterClient(run.url, run.token, timeout=(2.0, 10.0)) as client:
            client.identify(STUDENT["code"], STUDENT["last4"], "EK43", BATCH_CTX)
            box.enqueue(STUDENT["code"], photo, "k-store-down-2", {},
                        upload_ticket=client.grants.upload_ticket(STUDENT["code"]))
            res = box.drain_once(client)
            assert res.uploaded == 0 and box.depth() == 1
            st = box.status()
            assert (st["pending"], st["parked"]) == (1, 0)  # kept for a retry, not parked
            status = client.status(STUDENT["code"])["order"]
            assert status["state"] == "awaiting_photo" and status["version"] == 0

            back = MotoServer(port=moto.port).start()  # the store returns (empty, as moto is)
            try:
                import boto3

                boto3.client(
                    "s3", endpoint_url=back.url, region_name="us-east-1",
                    aws_access_key_id="test", aws_secret_access_key="test",
                ).create_bucket(Bucket=conf["s3"]["bucket"])
                box.retry_now()
                res = box.drain_once(client)
                assert res.uploaded == 1 and box.depth() == 0
                order = client.status(STUDENT["code"])["order"]
                assert (order["state"], order["version"]) == ("pending_review", 1)
                store = run.server.center.store
                assert list(store.keys()) == [hashlib.sha256(photo).hexdigest()]
            finally:
                back.stop()
    finally:
        box.close()
        run.stop()
        moto.stop()


def test_store_unavailable_is_a_kiosk_error_with_words():
    exc = StoreUnavailable("s3 store: EndpointConnectionError")
    assert exc.zh and exc.en and "s3" in exc.detail
