"""The kiosk's side of the link against the real center over HTTP on loopback."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from kiosk.link.client import CenterClient, CenterRefused, CenterUnreachable
from kiosk.link.outbox import Outbox, OutboxError
from kiosk.link.worker import UploadWorker
from tests.link.conftest import CODES, FAST, make_jpeg

BATCH = {"kind": "batch", "id": "GD2026-01"}


def wait_for(pred, timeout: float = 10.0, step: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not met in time")


def test_identify_enqueue_drain_makes_order_pending_review(client, outbox, caplog, ticket):
    caplog.set_level(logging.DEBUG)
    code = CODES[0]
    who = client.identify(code, "1234", "EK43", BATCH)
    assert who["student"]["masked_name"] == "吴**"
    assert who["order"]["label"] == "待上传"

    item = outbox.enqueue(code, make_jpeg(1), "sess-0001-submit-1", {"spec": "chsi_graduation"}, upload_ticket=ticket(code))
    assert outbox.depth() == 1
    res = outbox.drain_once(client)
    assert res.uploaded == 1 and not res.unreachable
    assert res.answers[item]["order"]["state"] == "pending_review"

    order = client.status(code)["order"]
    assert (order["state"], order["label"], order["version"]) == ("pending_review", "待审核", 1)
    assert order["can_withdraw"]
    st = outbox.status()
    assert (st["depth"], st["pending"], st["acked_kept"]) == (0, 0, 1)
    assert st["counters"]["uploaded"] == 1 and st["last_success_at"]
    # The local copy stays until the retention time has passed.
    assert len(list(outbox.photos.glob("*.jpg"))) == 1
    # No log line holds the collection code.
    assert code not in caplog.text


def test_client_errors_carry_the_centers_words(center, client):
    with pytest.raises(CenterRefused) as wrong:
        client.identify(CODES[1], "0000", "EK43", BATCH)
    assert wrong.value.code == "wrong_digits" and wrong.value.status == 403
    assert wrong.value.extra["attempts_left"] >= 1 and wrong.value.zh
    assert not wrong.value.retryable
    with pytest.raises(CenterRefused) as unknown:
        client.status("NOSUCHCODE0001")  # never identified: no grant, same answer as any code
    assert unknown.value.code == "grant_required" and not unknown.value.retryable

    with CenterClient(center.base_url, "1.not-a-valid-token-at-all-xxxxxxxx") as bad:
        with pytest.raises(CenterRefused) as denied:
            bad.status(CODES[1])
    assert denied.value.status == 401 and denied.value.retryable  # a device problem

    link_keys = client.keys()
    assert link_keys and all(len(k) == 32 for k in link_keys)  # raw Ed25519 public keys
    assert client.heartbeat({"camera": "ok"}, {"uploaded": 0}, 0, "test")["server_time"]

    port = center.port
    center.stop()
    with pytest.raises(CenterUnreachable) as down:
        client.status(CODES[1])
    assert "连不上" in down.value.zh and down.value.retryable
    with pytest.raises(CenterUnreachable) as up_down:
        client.upload(CODES[1], make_jpeg(2), "key-unreachable-1")
    assert up_down.value.zh == "暂时连不上采集中心，照片已保存，会自动上传。"
    center.start()
    assert center.port == port and client.healthz()


def test_center_down_capture_goes_on_then_everything_drains(center, client, outbox, ticket):
    url, token = center.base_url, center.token
    worker = UploadWorker(outbox, lambda: CenterClient(url, token, timeout=(1.0, 10.0)),
                          heartbeat_interval_s=0.2, idle_poll_s=5.0)
    worker.start()
    try:
        center.stop()
        photos = {code: make_jpeg(10 + i) for i, code in enumerate(CODES[:3])}
        t0 = time.monotonic()
        for i, (code, jpeg) in enumerate(photos.items()):
            outbox.enqueue(code, jpeg, f"down-test-{i:04d}", upload_ticket=ticket(code))
        assert time.monotonic() - t0 < 2.0  # capture never waits for the center

        st = wait_for(lambda: (s := outbox.status())["last_error"] and s)
        assert st["depth"] == 3 and st["pending"] == 3
        assert st["last_error"]["code"] == "center_unreachable"
        assert st["oldest_age_s"] is not None
        time.sleep(0.5)  # a while down: retries keep failing, nothing is lost
        assert outbox.depth() == 3
        assert worker.counters["heartbeats_failed"] >= 1

        center.start()
        wait_for(lambda: outbox.depth() == 0, timeout=15.0)
    finally:
        worker.stop()
    for code in photos:
        assert client.status(code)["order"]["version"] == 1
    assert outbox.status()["acked_kept"] == 3
    from sqlalchemy import select

    from center import schema as t

    with center.server.db.read() as conn:  # what the review console shows per kiosk
        beat = json.loads(conn.execute(select(t.kiosks.c.heartbeat)).scalar_one())
    assert "outbox_depth" in json.dumps(beat) and "uploaded" in json.dumps(beat)
    assert worker.counters["uploaded"] == 3 and worker.counters["heartbeats_ok"] >= 1


def test_worker_wakes_at_once_when_a_photo_is_queued(center, outbox, ticket):
    worker = UploadWorker(outbox, lambda: CenterClient(center.base_url, center.token),
                          heartbeat_interval_s=600.0, idle_poll_s=60.0)
    worker.start()
    try:
        time.sleep(0.3)  # let it go idle (it would sleep 60 s without a wake-up)
        t0 = time.monotonic()
        outbox.enqueue(CODES[3], make_jpeg(30), "wake-test-0001", upload_ticket=ticket(CODES[3]))
        wait_for(lambda: outbox.depth() == 0, timeout=10.0)
        assert time.monotonic() - t0 < 5.0
    finally:
        worker.stop()


def test_duplicate_enqueue_uploads_once_and_replays_count_once(client, outbox, ticket):
    code, jpeg = CODES[4], make_jpeg(40)
    first = outbox.enqueue(code, jpeg, "double-tap-0001", upload_ticket=ticket(code))
    assert outbox.enqueue(code, jpeg, "double-tap-0001", upload_ticket=ticket(code)) == first  # a double tap on submit
    assert outbox.depth() == 1
    with pytest.raises(OutboxError) as conflict:
        outbox.enqueue(code, make_jpeg(41), "double-tap-0001", upload_ticket=ticket(code))
    assert conflict.value.code == "outbox_key_conflict"

    assert outbox.drain_once(client).uploaded == 1
    # The acknowledgement is lost (e.g. power cut before it committed): the
    # item is sent again under the same key and the center counts it once.
    with outbox._tx() as db:
        db.execute("UPDATE items SET state='pending', acked_at=NULL, next_attempt_at=0")
    again = outbox.drain_once(client)
    assert again.uploaded == 1
    assert again.answers[first]["order"]["version"] == 1
    assert client.status(code)["order"]["version"] == 1


def test_permanent_refusals_are_parked_with_the_reason(client, outbox, ticket):
    small = make_jpeg(50, size=(240, 320))
    bad = outbox.enqueue(CODES[5], small, "noncompliant-0001", upload_ticket=ticket(CODES[5]))
    stranger = outbox.enqueue("NOSUCHCODE0042", make_jpeg(51), "unknown-code-0001")
    res = outbox.drain_once(client)
    assert res.parked == 2 and res.uploaded == 0

    st = outbox.status()
    assert st["parked"] == 2 and st["depth"] == 2 and st["pending"] == 0
    reasons = {i["id"]: i["last_error"] for i in st["parked_items"]}
    assert reasons[bad]["code"] == "photo_noncompliant" and reasons[bad]["zh"]
    assert any(it["verdict"] == "fail" for it in reasons[bad]["extra"]["report"]["items"])
    assert reasons[stranger]["code"] == "grant_required"  # no ticket: nobody identified it
    assert "NOSUCHCODE0042" not in json.dumps(st, ensure_ascii=False)  # only code_ref
    # Parked photos stay on disk for the operator; nothing was dropped.
    assert len(list(outbox.photos.glob("*.jpg"))) == 2
    # Not retried on its own ...
    assert outbox.drain_once(client).attempted == 0
    # ... but after the operator re-queues it.
    assert outbox.retry_parked([bad]) == 1
    assert outbox.drain_once(client).parked == 1


def test_acknowledged_copies_are_deleted_after_the_retention_time(client, _state_dir: Path, ticket):
    now = [1_000_000.0]
    policy = type(FAST)(**{**FAST.__dict__, "retention_after_ack_s": 3600.0})
    box = Outbox(_state_dir / "outbox" / "outbox.db", policy, clock=lambda: now[0])
    try:
        keep = box.enqueue(CODES[6], make_jpeg(60), "retention-0001", upload_ticket=ticket(CODES[6]))
        waiting = box.enqueue("NOSUCHCODE0077", make_jpeg(61), "retention-0002")
        box.drain_once(client)
        assert box.item(keep)["state"] == "acked"
        assert box.item(waiting)["state"] == "parked"
        now[0] += 3599
        assert box.purge() == 0
        assert len(list(box.photos.glob("*.jpg"))) == 2
        now[0] += 2
        assert box.purge() == 1
        assert box.item(keep) is None
        left = list(box.photos.glob("*"))
        assert len(left) == 2 and box.item(waiting)["state"] == "parked"  # never deleted
        assert box.status()["counters"]["purged"] == 1
    finally:
        box.close()


def test_enqueue_cut_before_its_row_committed_is_adopted(outbox, _state_dir: Path, ticket):
    """A crash after the photo and its sidecar were written, before the row: not lost."""
    jpeg = make_jpeg(70)
    outbox.enqueue(CODES[7], jpeg, "adopt-me-0001", upload_ticket=ticket(CODES[7]))
    with outbox._tx() as db:  # the row never committed
        db.execute("DELETE FROM items")
    outbox.close()
    box = Outbox(outbox.path, FAST)
    try:
        items = box.items()
        assert len(items) == 1 and items[0]["state"] == "pending"
        assert items[0]["size"] == len(jpeg)
    finally:
        box.close()


def test_a_refused_device_token_is_retried_not_parked(center, outbox, ticket):
    """401 is about the booth, not the photo: keep it queued and say why."""
    item = outbox.enqueue(CODES[2], make_jpeg(80), "bad-token-0001", upload_ticket=ticket(CODES[2]))
    outbox.enqueue(CODES[3], make_jpeg(81), "bad-token-0002", upload_ticket=ticket(CODES[3]))
    with CenterClient(center.base_url, "1.revoked-token-xxxxxxxxxxxxxxxxxx") as revoked:
        res = outbox.drain_once(revoked)
    assert (res.retried, res.parked, res.unreachable) == (1, 0, True)  # stopped after one
    st = outbox.status()
    assert st["pending"] == 2 and st["parked"] == 0
    assert st["last_error"]["status"] == 401 and st["last_error"]["item"] == item
    with CenterClient(center.base_url, center.token) as fixed:
        time.sleep(FAST.backoff_max_s)
        assert outbox.drain_once(fixed).uploaded == 2


def test_upload_to_an_approved_order_is_parked_as_order_locked(center, client, outbox, ticket):
    """The reviewer approved meanwhile (待处理): a late retake is kept for the operator."""
    from sqlalchemy import select

    from center import review
    from center import schema as t
    from center.admin import add_reviewer

    code = CODES[6]
    outbox.enqueue(code, make_jpeg(90), "approved-0001", upload_ticket=ticket(code))
    assert outbox.drain_once(client).uploaded == 1
    db = center.server.db
    add_reviewer(db, "reviewer-test", "correct horse battery", actor="test")
    with db.read() as conn:
        reviewer_id = conn.execute(select(t.reviewers.c.id)).scalar_one()
    review.decide(db, review.next_pending(db).id, (reviewer_id, "reviewer-test"), "approve")
    assert client.status(code)["order"]["label"] == "待处理"

    late = outbox.enqueue(code, make_jpeg(91), "approved-0002", upload_ticket=ticket(code))
    assert outbox.drain_once(client).parked == 1
    err = outbox.item(late)["last_error"]
    assert (err["code"], err["status"]) == ("order_locked", 409) and err["zh"]
    assert outbox.photo_path(late).exists()
    assert client.status(code)["order"]["version"] == 1
