"""Issue 10 §1: a collection code alone unlocks nothing.

Every order action needs the grant identify gave to *that* kiosk for *that*
order; without one, known and unknown codes get the very same answer, and each
try counts toward the kiosk's identify lock-out.
"""

from __future__ import annotations

import time

import httpx
from sqlalchemy import func, select

from center import schema as t
from center.admin import add_kiosk
from tests.center.conftest import (
    GRANT,
    STUDENT,
    STUDENT_X,
    Running,
    base_overrides,
    completed_order,
    identify,
    upload,
)

UNKNOWN = "NOSUCHCODE000042"


def _raw(run: Running, token: str) -> httpx.Client:
    """A plain kiosk client: nothing is identified on its behalf."""
    return httpx.Client(base_url=run.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def _actions(code: str, photo: bytes) -> list[tuple[str, dict]]:
    return [
        ("/api/v1/orders/status", {"json": {"collection_code": code}}),
        ("/api/v1/orders/withdraw", {"json": {"collection_code": code}}),
        ("/api/v1/download-link", {"json": {"collection_code": code}}),
        (
            "/api/v1/email",
            {"json": {"collection_code": code, "name": "x", "email": "thief@example.org"}},
        ),
        (
            "/api/v1/reprints",
            {
                "json": {
                    "collection_code": code,
                    "layout": 1,
                    "copies": 1,
                    "delivery": "mail",
                    "address": "somewhere far away 1",
                }
            },
        ),
        (
            "/api/v1/photos",
            {
                "data": {"collection_code": code, "idempotency_key": f"steal-{code[-6:]}-01"},
                "files": {"photo": ("p.jpg", photo, "image/jpeg")},
            },
        ),
    ]


def _count(run: Running, table) -> int:  # noqa: ANN001
    with run.server.db.read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_code_alone_unlocks_nothing_and_known_equals_unknown(center, photo, photo2):
    # the student completed an order at their own booth
    completed_order(center, photo)
    thief = _raw(center, add_kiosk(center.server.db, "stolen-booth"))
    tables = (t.photo_versions, t.email_requests, t.reprints)
    before = [_count(center, tb) for tb in tables]
    answers = {}
    for code in (STUDENT["code"], UNKNOWN):
        for path, kw in _actions(code, photo2):
            r = thief.post(path, **kw)
            answers[(code, path)] = (r.status_code, r.json())
            assert r.status_code == 403 and r.json()["error"]["code"] == "grant_required", path
    # a known code and an unknown one look exactly alike
    for path, _ in _actions(STUDENT["code"], photo2):
        assert answers[(STUDENT["code"], path)] == answers[(UNKNOWN, path)]
    # ... and nothing happened: no new version, no e-mail, no reprint
    assert [_count(center, tb) for tb in tables] == before
    # the genuine grant of another kiosk is no good here either
    own = _raw(center, center.token)
    grant = identify(own).json()["grant"]["token"]
    r = thief.post("/api/v1/orders/status", json={"collection_code": STUDENT["code"]},
                   headers={GRANT: grant})
    assert r.status_code == 403 and r.json()["error"]["code"] == "grant_required"
    # nor is a grant for one student good for another student's code
    r = own.post("/api/v1/orders/status", json={"collection_code": STUDENT_X["code"]},
                 headers={GRANT: grant})
    assert r.status_code == 403
    r = own.post("/api/v1/orders/status", json={"collection_code": STUDENT["code"]},
                 headers={GRANT: grant})
    assert r.status_code == 200 and r.json()["order"]["label"] == "订单完成"


def test_identify_answers_unknown_codes_like_wrong_digits(center):
    c = _raw(center, center.token)
    known = identify(c, id_last4="0000")
    unknown = identify(c, collection_code=UNKNOWN, id_last4="0000")
    assert known.status_code == unknown.status_code == 403
    assert known.json() == unknown.json()  # same code, words and attempts_left
    for _ in range(4):
        identify(c, collection_code=UNKNOWN, id_last4="0000")
    locked = identify(c, collection_code=UNKNOWN, id_last4="0000")
    assert locked.status_code == 423  # an unknown code locks like a known one


def test_grant_ends_with_the_session_and_the_upload_ticket_outlives_it(center, photo):
    c = _raw(center, center.token)
    body = identify(c).json()
    grant, ticket = body["grant"]["token"], body["upload_ticket"]["token"]
    status = {"json": {"collection_code": STUDENT["code"]}}
    assert c.post("/api/v1/orders/status", headers={GRANT: grant}, **status).status_code == 200
    # the ticket uploads, but does nothing else
    assert c.post("/api/v1/orders/status", headers={GRANT: ticket}, **status).status_code == 403
    # the student leaves: the kiosk ends the grant
    r = c.post("/api/v1/grants/end", headers={GRANT: grant})
    assert r.status_code == 200 and r.json() == {"ended": True}
    assert c.post("/api/v1/orders/status", headers={GRANT: grant}, **status).status_code == 403
    # hours later the outbox delivers the photo with the ticket, from this kiosk only
    other = _raw(center, add_kiosk(center.server.db, "other-booth"))
    other.headers[GRANT] = ticket
    assert upload(other, STUDENT["code"], photo, "late-upload-01").status_code == 403
    c.headers[GRANT] = ticket
    r = upload(c, STUDENT["code"], photo, "late-upload-01")
    assert r.status_code == 201 and r.json()["order"]["label"] == "待审核"
    # ending is idempotent and says nothing about what the header held
    assert c.post("/api/v1/grants/end", headers={GRANT: "gs.nonsense"}).json() == {"ended": True}


def test_grant_expires_on_its_own(tmp_path, db_url):
    run = Running(
        tmp_path / "c", db_url, base_overrides(grants={"session_minutes": 0.02})
    ).start()
    try:
        c = _raw(run, run.token)
        c.headers[GRANT] = identify(c).json()["grant"]["token"]
        status = {"json": {"collection_code": STUDENT["code"]}}
        assert c.post("/api/v1/orders/status", **status).status_code == 200
        time.sleep(1.5)  # the grant lived 1.2 s
        assert c.post("/api/v1/orders/status", **status).status_code == 403
    finally:
        run.stop()


def test_probing_codes_through_order_calls_locks_the_kiosk(tmp_path, db_url):
    run = Running(
        tmp_path / "c", db_url, base_overrides(identify={"kiosk_max_failures": 5})
    ).start()
    try:
        c = _raw(run, run.token)
        for n in range(5):
            r = c.post("/api/v1/orders/status", json={"collection_code": f"PROBE{n:011d}"})
            assert r.status_code == 403
        # the kiosk that probed is locked out of identify, even with the right digits
        assert identify(c).status_code == 423
        # another kiosk is not
        assert identify(_raw(run, add_kiosk(run.server.db, "other"))).status_code == 200
    finally:
        run.stop()


def test_booth_reprint_marked_printed_only_by_the_kiosk_that_ordered_it(center, photo):
    completed_order(center, photo)
    own = _raw(center, center.token)
    grant = identify(own).json()["grant"]["token"]
    r = own.post(
        "/api/v1/reprints",
        json={"collection_code": STUDENT["code"], "layout": 2, "copies": 1, "delivery": "booth"},
        headers={GRANT: grant},
    )
    reprint_no = r.json()["reprint_no"]
    own.post("/api/v1/grants/end", headers={GRANT: grant})  # the student has left
    thief = _raw(center, add_kiosk(center.server.db, "stolen-booth"))
    r = thief.post("/api/v1/reprints/printed", json={"reprint_no": reprint_no})
    assert r.status_code == 404
    # the printer was refilled later: the ordering kiosk marks it, no grant needed
    r = own.post("/api/v1/reprints/printed", json={"reprint_no": reprint_no})
    assert r.status_code == 200 and r.json()["label"] == "已发货"
