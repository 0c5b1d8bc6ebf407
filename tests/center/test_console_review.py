"""The review queue over real HTTP (SQLite and PostgreSQL): the center refuses
uploads outside the standard's hard limits; two reviewers never get the same
photo; a decision must name the version shown, a repeat within the guard time
is ignored, a rejection needs a real reason; decisions can be undone by their
reviewer for a while and by an administrator until the photo is exported."""

from __future__ import annotations

import io
import re
import time

import httpx
import pytest
from PIL import Image
from sqlalchemy import select

from center import schema as t
from center.admin import add_reviewer
from tests.center.conftest import Running, base_overrides, csrf_of, make_jpeg, upload

CODES = [f"DEMO2026GD00000{i}" for i in range(1, 9)]  # config/demo/roster.csv


@pytest.fixture
def center(tmp_path, db_url):
    """Fast timings so expiry and windows can be crossed in a test."""
    over = base_overrides(review={"claim_seconds": 1.5, "guard_ms": 400, "undo_minutes": 0.05})
    run = Running(tmp_path / "center", db_url, over).start()
    yield run
    run.stop()


def _signed_in(run: Running, name: str, admin: bool = False) -> httpx.Client:
    add_reviewer(run.server.db, name, "long password", admin=admin)
    c = httpx.Client(base_url=run.url, timeout=10)
    r = c.post("/console/login", data={"name": name, "password": "long password"})
    assert r.status_code == 303, r.text
    return c


def _shown(c: httpx.Client, query: str = "") -> tuple[str, int, int, str]:
    """(order number, version id, version number, page) of the photo the console shows."""
    page = c.get("/console/review" + query).text
    m = re.search(r'id="order-no">(\d+)<', page)
    assert m, "no photo on the review page"
    vid = int(re.search(r'action="/console/review/(\d+)"', page).group(1))
    vno = int(re.search(r'name="version_no" value="(\d+)"', page).group(1))
    return m.group(1), vid, vno, page


def _flash(resp: httpx.Response) -> str:
    from urllib.parse import parse_qs, urlparse

    return parse_qs(urlparse(resp.headers["location"]).query).get("msg", [""])[0]


def _state(run: Running, order_no: str) -> str:
    with run.server.db.read() as conn:
        return conn.execute(
            select(t.orders.c.state).where(t.orders.c.order_no == order_no)
        ).scalar_one()


def test_upload_outside_hard_limits_refused(center):
    kiosk = center.client()
    big = make_jpeg("two_faces_event.jpg", quality=85)  # ~70 KB
    assert len(big) > 40 * 1024
    r = upload(kiosk, CODES[0], big, "k-big-0001")
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "photo_noncompliant" and "20–40 KB" in err["zh"]
    assert {i["name"] for i in err["report"]["items"] if i["verdict"] == "fail"} == {"file_size"}
    png = io.BytesIO()
    Image.open(io.BytesIO(make_jpeg())).save(png, "PNG", compress_level=9)
    r = upload(kiosk, CODES[0], png.getvalue()[: 39 * 1024], "k-png-0001")
    assert r.status_code == 422 and "format" in {
        i["name"] for i in r.json()["error"]["report"]["items"] if i["verdict"] == "fail"
    }
    prog = io.BytesIO()
    Image.open(io.BytesIO(make_jpeg())).save(prog, "JPEG", quality=70, progressive=True)
    r = upload(kiosk, CODES[0], prog.getvalue(), "k-prog-0001")
    assert r.status_code == 422
    status = kiosk.post("/api/v1/orders/status", json={"collection_code": CODES[0]})
    assert status.json()["order"]["version"] == 0  # nothing stored
    assert upload(kiosk, CODES[0], make_jpeg(), "k-fine-0001").status_code == 201


def test_two_reviewers_never_share_a_photo(center):
    kiosk = center.client()
    for i, code in enumerate(CODES[:3]):
        assert upload(kiosk, code, make_jpeg(), f"k-two-{i:04d}").status_code == 201
    one, two = _signed_in(center, "rev1"), _signed_in(center, "rev2")
    a_no, a_vid, a_v, _ = _shown(one)
    b_no, b_vid, b_v, page = _shown(two)
    assert a_no != b_no
    assert _shown(one)[0] == a_no  # a reload keeps one's photo
    # rev2 cannot decide the photo rev1 holds
    r = two.post(
        f"/console/review/{a_vid}",
        data={"csrf": csrf_of(page), "decision": "approve", "version_no": a_v},
    )
    assert "其他审核员" in _flash(r) and _state(center, a_no) == "pending_review"
    time.sleep(0.45)
    r = two.post(
        f"/console/review/{b_vid}",
        data={"csrf": csrf_of(page), "decision": "approve", "version_no": b_v},
    )
    assert "待处理" in _flash(r) and _state(center, b_no) == "processing"
    # rev2's next photo is neither rev1's nor the one it decided
    c_no = _shown(two)[0]
    assert c_no not in (a_no, b_no)
    # a claim expires: rev1 walks away, and its photo (the oldest) goes to rev2
    time.sleep(1.7)
    assert _shown(two)[0] == a_no
    # rev1's page, still open, learns from its poll that the photo went to rev2
    status = one.get(f"/console/review/status.json?v={a_vid}").json()
    assert status["held"] is False and status["pending"] == 2
    # each reviewer's count for the day and the queue
    page = two.get("/console/review").text
    assert re.search(r'id="mine-today">1<', page)
    decisions = one.get("/console/decisions").text
    assert "rev2 1" in decisions


def test_decision_names_the_version_shown_and_ignores_repeats(center):
    kiosk = center.client()
    assert upload(kiosk, CODES[0], make_jpeg(), "k-ver-0001").status_code == 201
    assert upload(kiosk, CODES[1], make_jpeg(), "k-ver-0002").status_code == 201
    c = _signed_in(center, "rev1")
    order_no, vid, vno, page = _shown(c)
    form = {"csrf": csrf_of(page), "decision": "approve", "version_no": vno}
    # pressed again right after the photo appeared: ignored, the photo stays
    r = c.post(f"/console/review/{vid}", data=form)
    assert "过快" in _flash(r) and _state(center, order_no) == "pending_review"
    time.sleep(0.45)
    # a decision made on another version than the current one is refused
    r = c.post(f"/console/review/{vid}", data={**form, "version_no": vno + 1})
    assert "新版本" in _flash(r) and _state(center, order_no) == "pending_review"
    r = c.post(f"/console/review/{vid}", data=form)
    assert _state(center, order_no) == "processing"
    # the same form posted twice (a double key) does not decide the next photo
    r = c.post(f"/console/review/{vid}", data=form)
    assert _state(center, order_no) == "processing"
    nxt = _shown(c)[0]
    assert nxt != order_no and _state(center, nxt) == "pending_review"


def test_rejection_needs_a_real_reason(center):
    kiosk = center.client()
    assert upload(kiosk, CODES[0], make_jpeg(), "k-why-0001").status_code == 201
    c = _signed_in(center, "rev1")
    order_no, vid, vno, page = _shown(c)
    time.sleep(0.45)
    base = {"csrf": csrf_of(page), "decision": "reject", "version_no": vno}
    r = c.post(f"/console/review/{vid}", data={**base, "note": "2r"})
    assert "勾选未通过原因" in _flash(r)
    r = c.post(f"/console/review/{vid}", data={**base, "reason": "manual.other", "note": "2r"})
    assert "备注" in _flash(r)
    r = c.post(f"/console/review/{vid}", data={**base, "reason": "made_up_reason"})
    assert "未知" in _flash(r)
    assert _state(center, order_no) == "pending_review"
    # presets come from the report's items: background colour, two people, file size
    assert 'value="background_colour"' in page and 'value="single_face.fail_high"' in page
    assert 'value="file_size"' in page
    r = c.post(
        f"/console/review/{vid}",
        data={
            **base,
            "reason": ["single_face.fail_high", "background_colour"],
            "note": "请一人入镜",
        },
    )
    order = kiosk.post("/api/v1/orders/status", json={"collection_code": CODES[0]}).json()
    order = order["order"]
    assert order["state"] == "rejected" and order["reason_code"] == "single_face.fail_high"
    assert "多于一张人脸" in order["reason_text"] and "背景颜色" in order["reason_text"]
    assert order["reason_text"].endswith("备注：请一人入镜")
    assert not re.search(r"[A-Za-z]", order["reason_text"])  # one language


def test_undo_by_reviewer_then_administrator_until_export(center):
    kiosk = center.client()
    for i, code in enumerate(CODES[:2]):
        assert upload(kiosk, code, make_jpeg(), f"k-undo-{i:04d}").status_code == 201
    c = _signed_in(center, "rev1")
    other = _signed_in(center, "rev2")
    admin = _signed_in(center, "boss", admin=True)
    order_no, vid, vno, page = _shown(c)
    time.sleep(0.45)
    r = c.post(
        f"/console/review/{vid}",
        data={"csrf": csrf_of(page), "decision": "approve", "version_no": vno},
    )
    review_id = int(re.search(r"done=(\d+)", r.headers["location"]).group(1))
    page = c.get(r.headers["location"]).text
    assert 'id="undo-form"' in page
    # another (non-admin) reviewer may not undo it
    other_page = other.get("/console/decisions").text
    assert f'action="/console/review/undo/{review_id}"' not in other_page
    token = csrf_of(other.get("/console/batches").text)
    r = other.post(f"/console/review/undo/{review_id}", data={"csrf": token})
    assert "只能撤销自己的决定" in _flash(r) and _state(center, order_no) == "processing"
    # its reviewer may: the order is 待审核 again and the photo comes back to them
    r = c.post(f"/console/review/undo/{review_id}", data={"csrf": csrf_of(page)})
    assert "已撤销" in _flash(r) and _state(center, order_no) == "pending_review"
    assert _shown(c, r.headers["location"].split("/console/review")[1])[0] == order_no
    time.sleep(0.45)
    order_no, vid, vno, page = _shown(c)
    r = c.post(
        f"/console/review/{vid}",
        data={"csrf": csrf_of(page), "decision": "approve", "version_no": vno},
    )
    review_id = int(re.search(r"done=(\d+)", r.headers["location"]).group(1))
    time.sleep(3.2)  # undo_minutes = 0.05: the reviewer's window has passed
    r = c.post(f"/console/review/undo/{review_id}", data={"csrf": csrf_of(page)})
    assert "撤销时限" in _flash(r) and _state(center, order_no) == "processing"
    # the administrator still can, from the decisions page
    page = admin.get("/console/decisions").text
    assert f'action="/console/review/undo/{review_id}"' in page
    r = admin.post(f"/console/review/undo/{review_id}", data={"csrf": csrf_of(page)})
    assert _state(center, order_no) == "pending_review"
    # ... but not once the photo left in an export
    order_no, vid, vno, page = _shown(c)
    time.sleep(0.45)
    r = c.post(
        f"/console/review/{vid}",
        data={"csrf": csrf_of(page), "decision": "approve", "version_no": vno},
    )
    review_id = int(re.search(r"done=(\d+)", r.headers["location"]).group(1))
    assert c.get("/console/batches/GD2026-01/export.zip").status_code == 200
    page = admin.get("/console/decisions").text
    assert f'action="/console/review/undo/{review_id}"' not in page and "已导出" in page
    token = csrf_of(admin.get("/console/batches").text)
    r = admin.post(f"/console/review/undo/{review_id}", data={"csrf": token})
    assert "已导出" in _flash(r) and _state(center, order_no) == "processing"
    audit = admin.get("/console/audit").text
    assert audit.count('data-action="undo"') == 2 and "撤销审核决定" in audit
