"""The student's whole journey over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import httpx
import pytest

from center.admin import add_reviewer
from center.review import complete, decide
from tests.center.conftest import (
    GRANT,
    REGION_CTX,
    STUDENT,
    STUDENT_X,
    Running,
    base_overrides,
    granted,
    identify,
    upload,
)
from tests.center.smtp import SmtpServer


def _reviewer(run: Running) -> tuple[int, str]:
    from sqlalchemy import select

    from center import schema as t

    add_reviewer(run.server.db, "rev", "correct horse")
    with run.server.db.read() as conn:
        rid = conn.execute(select(t.reviewers.c.id).where(t.reviewers.c.name == "rev")).scalar_one()
    return rid, "rev"


def _current_version_id(run: Running, order_no: str) -> int:
    from sqlalchemy import select

    from center import schema as t

    with run.server.db.read() as conn:
        return conn.execute(
            select(t.photo_versions.c.id)
            .join(t.orders, t.orders.c.id == t.photo_versions.c.order_id)
            .where(
                t.orders.c.order_no == order_no, t.photo_versions.c.version_no == t.orders.c.version
            )
        ).scalar_one()


def test_journey_from_identify_to_reprint(tmp_path, db_url, photo, photo2):
    with SmtpServer() as smtp:
        run = Running(
            tmp_path / "center",
            db_url,
            base_overrides(smtp={"port": smtp.port, "retry_seconds": 1}),
        ).start()
        try:
            _journey(run, smtp, photo, photo2)
        finally:
            run.stop()


def _journey(run: Running, smtp: SmtpServer, photo: bytes, photo2: bytes) -> None:
    c = run.client()
    code = STUDENT["code"]
    r = identify(c)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["student"]["masked_name"] == "吴**"  # only the masked name leaves the center
    assert "吴小明" not in r.text
    c.headers[GRANT] = body["grant"]["token"]  # what identify allows: this order, this kiosk
    order = body["order"]
    assert order["state"] == "awaiting_photo" and order["label"] == "待上传"
    assert len(order["order_no"]) == 18 and order["order_no"].isdigit()
    assert order["order_no"][:6] == time.strftime("%y%m%d")

    r = upload(c, code, photo, "k-journey-1")
    assert r.status_code == 201, r.text
    assert r.json()["order"]["label"] == "待审核" and r.json()["order"]["can_withdraw"]

    # a second photo while pending: refused, the student must withdraw first
    r = upload(c, code, photo2, "k-journey-x")
    assert r.status_code == 409 and r.json()["error"]["code"] == "order_locked"

    r = c.post("/api/v1/orders/withdraw", json={"collection_code": code})
    assert r.status_code == 200 and r.json()["order"]["state"] == "awaiting_photo"
    r = c.post("/api/v1/orders/withdraw", json={"collection_code": code})
    assert r.status_code == 409

    r = upload(c, code, photo2, "k-journey-2")
    assert r.status_code == 201 and r.json()["order"]["version"] == 2

    reviewer = _reviewer(run)
    order_no = order["order_no"]
    decide(
        run.server.db,
        _current_version_id(run, order_no),
        reviewer,
        "reject",
        "eye_height",
        "眼睛位置不合适",
    )
    r = c.post("/api/v1/orders/status", json={"collection_code": code})
    o = r.json()["order"]
    assert (o["state"], o["label"], o["reason_code"]) == ("rejected", "未通过", "eye_height")
    assert o["reason_text"] == "眼睛位置不合适" and o["can_retake"]

    # nothing to download, mail or reprint before completion
    assert c.post("/api/v1/download-link", json={"collection_code": code}).status_code == 409

    r = upload(c, code, photo, "k-journey-3")  # the retake
    assert r.status_code == 201 and r.json()["order"]["version"] == 3
    assert r.json()["order"]["reason_code"] is None
    decide(run.server.db, _current_version_id(run, order_no), reviewer, "approve")
    o = c.post("/api/v1/orders/status", json={"collection_code": code}).json()["order"]
    assert o["label"] == "待处理" and not o["can_withdraw"] and not o["can_retake"]
    r = upload(c, code, photo2, "k-journey-4")
    assert r.status_code == 409  # locked once approved

    assert complete(run.server.db, [order_no], "reviewer:rev") == 1
    o = c.post("/api/v1/orders/status", json={"collection_code": code}).json()["order"]
    assert o["label"] == "订单完成" and o["can_reprint"]

    # download link: no auth needed, serves the approved version (the retake)
    r = c.post("/api/v1/download-link", json={"collection_code": code})
    assert r.status_code == 200
    link = r.json()["url"]
    assert code not in link and "/d/" in link
    got = httpx.get(link)
    assert got.status_code == 200 and got.content == photo
    assert got.headers["content-type"] == "image/jpeg"
    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    assert httpx.get(tampered).status_code == 410

    # e-mail: accepted at once, delivered by the sender thread with the photo attached
    r = c.post(
        "/api/v1/email",
        json={"collection_code": code, "name": "吴小明", "email": "wu@example.edu.cn"},
    )
    assert r.status_code == 202
    assert smtp.inbox.arrived.wait(10), "no e-mail arrived"
    msg = smtp.inbox.messages[0]
    assert "wu@example.edu.cn" in msg["To"]
    parts = [p for p in msg.walk() if p.get_content_type() == "image/jpeg"]
    assert len(parts) == 1 and parts[0].get_payload(decode=True) == photo
    assert parts[0].get_filename() == f"{order_no}.jpg"

    # reprint orders
    r = c.post(
        "/api/v1/reprints",
        json={"collection_code": code, "layout": 2, "copies": 1, "delivery": "mail"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "address_required"
    r = c.post(
        "/api/v1/reprints",
        json={"collection_code": code, "layout": 1, "copies": 2, "delivery": "booth"},
    )
    assert r.status_code == 200, r.text
    rp = r.json()
    assert rp["state"] == "to_ship" and rp["label"] == "待发货" and len(rp["reprint_no"]) == 18
    r = c.post("/api/v1/reprints/printed", json={"reprint_no": rp["reprint_no"]})
    assert r.json()["label"] == "已发货"
    r = c.post(
        "/api/v1/reprints",
        json={"collection_code": code, "layout": 9, "copies": 1, "delivery": "booth"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_layout"

    r = c.post(
        "/api/v1/heartbeat",
        json={
            "health": {"camera": "ok"},
            "counters": {"photos": 3},
            "outbox_depth": 2,
            "version": "0.2.0",
        },
    )
    assert r.status_code == 200 and r.json()["server_time"].endswith("Z")


def test_identify_rules(center, photo):
    c = center.client()
    # X as last character, any case; region context needs no feature code
    r = identify(c, STUDENT_X, id_last4="002x", feature_code=None, context=REGION_CTX)
    assert r.status_code == 200 and r.json()["student"]["masked_name"] == "陈**"
    r = identify(c, feature_code="EK44")
    assert r.status_code == 403 and r.json()["error"]["code"] == "wrong_feature_code"
    # an unknown code answers like a known one with wrong digits (no code oracle)
    r = identify(c, collection_code="NOSUCHCODE000000")
    assert r.status_code == 403 and r.json()["error"]["code"] == "wrong_digits"
    r = identify(c, context={"kind": "batch", "id": "GD2099-09"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_context"


def test_wrong_digits_lock_out_and_survive_restart(center):
    c = center.client()
    left = []
    for _ in range(4):
        r = identify(c, id_last4="0000")
        assert r.status_code == 403 and r.json()["error"]["code"] == "wrong_digits"
        left.append(r.json()["error"]["attempts_left"])
    assert left == [4, 3, 2, 1]
    r = identify(c, id_last4="0000")
    assert r.status_code == 423
    assert r.json()["error"]["retry_after"] > 800 and r.headers["Retry-After"]
    # the right digits do not open a locked code ...
    assert identify(c).status_code == 423
    # ... another student is not affected ...
    assert identify(c, STUDENT_X).status_code == 200
    # ... and a restart does not reset the lock
    center.stop()
    center.start()
    assert identify(center.client()).status_code == 423


def test_unauthenticated_calls_refused(center, photo):
    routes = [
        ("post", "/api/v1/identify", {"json": {}}),
        (
            "post",
            "/api/v1/photos",
            {
                "data": {"collection_code": STUDENT["code"], "idempotency_key": "abcdefgh12"},
                "files": {"photo": ("p.jpg", photo, "image/jpeg")},
            },
        ),
        ("post", "/api/v1/orders/status", {"json": {"collection_code": STUDENT["code"]}}),
        ("post", "/api/v1/orders/withdraw", {"json": {"collection_code": STUDENT["code"]}}),
        ("post", "/api/v1/reprints", {"json": {}}),
        ("post", "/api/v1/reprints/printed", {"json": {}}),
        ("post", "/api/v1/email", {"json": {}}),
        ("post", "/api/v1/download-link", {"json": {"collection_code": STUDENT["code"]}}),
        ("post", "/api/v1/heartbeat", {"json": {}}),
        ("get", "/api/v1/keys", {}),
    ]
    forged = center.token.split(".")[0] + ".forged-secret-forged-secret-forged"
    for token in ("", "not-a-token", forged):
        c = center.client(token)
        for method, path, kw in routes:
            r = getattr(c, method)(path, **kw)
            assert r.status_code == 401, (token, path, r.status_code)
            assert r.json()["error"]["code"] == "unauthorized"
    # nothing happened: the order has no photo
    r = granted(center).post("/api/v1/orders/status", json={"collection_code": STUDENT["code"]})
    assert r.json()["order"]["version"] == 0
    assert httpx.get(center.url + "/healthz").json() == {"ok": True}


def test_noncompliant_upload_refused_with_report(center, photo):
    from tests.center.conftest import make_jpeg

    c = granted(center)
    wrong_size = make_jpeg(size=(600, 800))
    r = upload(c, STUDENT["code"], wrong_size, "k-bad-size")
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "photo_noncompliant" and not err["report"]["ok"]
    failed = {i["name"] for i in err["report"]["items"] if i["verdict"] == "fail"}
    assert "pixels" in failed
    r = upload(c, STUDENT["code"], photo[: len(photo) // 2], "k-truncated")
    assert r.status_code == 422 and "format" in {
        i["name"] for i in r.json()["error"]["report"]["items"] if i["verdict"] == "fail"
    }
    o = c.post("/api/v1/orders/status", json={"collection_code": STUDENT["code"]}).json()["order"]
    assert o["state"] == "awaiting_photo" and o["version"] == 0
    # the same key with a different photo is not a replay
    assert upload(c, STUDENT["code"], photo, "k-same-key").status_code == 201
    r = upload(c, STUDENT["code"], photo[:-200] + photo[-2:], "k-same-key")
    assert r.status_code == 409 and r.json()["error"]["code"] == "idempotency_key_reused"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_oversized_upload_refused_before_parsing(center, photo):
    big = photo + b"\0" * 400_000
    r = upload(granted(center), STUDENT["code"], big, "k-too-big")
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
