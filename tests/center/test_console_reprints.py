"""Reprint orders (加洗订单) and failed e-mails handled from the console, over real HTTP."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import select

from center import schema as t
from tests.center.conftest import (
    STUDENT,
    STUDENT_X,
    Running,
    base_overrides,
    completed_order,
    console_client,
    csrf_of,
)
from tests.center.smtp import SmtpServer

ADDRESS = "广东省广州市天河区五山路381号 <b>3栋</b>"


def _reprint(kiosk: httpx.Client, code: str, layout: int, copies: int, address: str = "") -> str:
    body = {"collection_code": code, "layout": layout, "copies": copies, "delivery": "booth"}
    if address:
        body.update(delivery="mail", address=address)
    r = kiosk.post("/api/v1/reprints", json=body)
    assert r.status_code == 200, r.text
    return r.json()["reprint_no"]


def _states(run: Running) -> dict[str, str]:
    with run.server.db.read() as conn:
        return dict(conn.execute(select(t.reprints.c.reprint_no, t.reprints.c.state)).all())


def _audit(run: Running, action: str) -> list[tuple[str, str | None, str]]:
    with run.server.db.read() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(t.audit_log.c.actor, t.audit_log.c.order_no, t.audit_log.c.detail)
                .where(t.audit_log.c.action == action)
                .order_by(t.audit_log.c.id)
            )
        ]


def _post(c: httpx.Client, path: str, csrf: str, back: str = "to_ship") -> httpx.Response:
    """A console form POST, following the redirect to the page with its message."""
    return c.post(path, data={"csrf": csrf, "back": back}, follow_redirects=True)


def test_reprint_states_through_the_console(center, photo, photo2):
    kiosk = center.client()
    order_no = completed_order(center, photo)
    completed_order(center, photo2, STUDENT_X)
    mail_a = _reprint(kiosk, STUDENT["code"], 1, 2, ADDRESS)
    mail_b = _reprint(kiosk, STUDENT_X["code"], 2, 1, "北京市海淀区清华园1号")
    booth_c = _reprint(kiosk, STUDENT["code"], 2, 3)
    booth_d = _reprint(kiosk, STUDENT_X["code"], 1, 1)
    assert kiosk.post("/api/v1/reprints/printed", json={"reprint_no": booth_d}).status_code == 200

    # not signed in: no list, and a POST changes nothing
    anon = httpx.Client(base_url=center.url, timeout=10)
    r = anon.get("/console/reprints")
    assert r.status_code == 303 and r.headers["location"].endswith("/console/login")
    r = anon.post(f"/console/reprints/{mail_a}/ship", data={"csrf": "x"})
    assert r.status_code == 303 and r.headers["location"].endswith("/console/login")

    c = console_client(center)
    page = c.get("/console/reprints")
    assert page.status_code == 200
    html = page.text
    assert 'href="/console/reprints"' in html  # in the navigation
    # default filter 待发货: the three waiting orders, not the one the booth printed
    for no in (mail_a, mail_b, booth_c):
        assert f'id="reprint-{no}"' in html
    assert booth_d not in html
    # masked names only, never the full name or the collection code; the address escaped
    assert "吴**" in html and "陈**" in html
    assert "吴小明" not in html and STUDENT["code"] not in html and STUDENT_X["code"] not in html
    assert "五山路381号 &lt;b&gt;3栋&lt;/b&gt;" in html and "<b>3栋" not in html
    assert "版式一" in html and "版式二" in html and order_no in html
    # booth orders have no "mark shipped" button; every waiting order can be refunded
    assert html.count('class="ship"') == 2 and html.count('class="refund"') == 3
    csrf = csrf_of(html)

    # a stale or missing CSRF token is refused
    r = c.post(f"/console/reprints/{mail_a}/ship", data={"csrf": "stale"})
    assert r.status_code == 403
    assert _states(center)[mail_a] == "to_ship"

    # mark a mailed reprint shipped
    r = _post(c, f"/console/reprints/{mail_a}/ship", csrf)
    assert r.status_code == 200 and f"加洗订单 {mail_a}" in r.text and "已发货" in r.text
    assert f'id="reprint-{mail_a}"' not in r.text  # left the 待发货 list
    assert _audit(center, "reprint_shipped") == [("reviewer:rev", order_no, f"{mail_a} mail")]

    # refused transitions: a clear message, nothing changes, nothing audited
    refused = [
        (mail_a, "ship", "状态为已发货，不能标记为已发货"),
        (mail_a, "refund", "只有待发货的订单可以退款"),
        (booth_c, "ship", "由自助机打印后自动标记为已发货"),
        (booth_d, "refund", "只有待发货的订单可以退款"),
        ("999999999999999999", "ship", "没有这个加洗订单"),
    ]
    for no, action, text in refused:
        before = _states(center)
        r = _post(c, f"/console/reprints/{no}/{action}", csrf)
        assert r.status_code == 200 and "未执行" in r.text and text in r.text, (no, action)
        assert _states(center) == before
    assert c.post(f"/console/reprints/{mail_b}/cancel", data={"csrf": csrf}).status_code == 404

    # refunds: a mailed one and a booth one still waiting
    for no in (mail_b, booth_c):
        r = _post(c, f"/console/reprints/{no}/refund", csrf)
        assert "已标记为已退款" in r.text, r.text
    r = _post(c, f"/console/reprints/{mail_b}/ship", csrf)
    assert "状态为已退款" in r.text
    assert _states(center) == {
        mail_a: "shipped",
        mail_b: "refunded",
        booth_c: "refunded",
        booth_d: "shipped",
    }
    assert [no.split()[0] for _, _, no in _audit(center, "reprint_refunded")] == [mail_b, booth_c]
    # the booth can no longer print a refunded reprint
    r = kiosk.post("/api/v1/reprints/printed", json={"reprint_no": booth_c})
    assert r.status_code == 409 and r.json()["error"]["code"] == "reprint_refunded"

    # the filters
    def listed(state: str) -> set[str]:
        text = c.get("/console/reprints", params={"state": state}).text
        return {no for no in (mail_a, mail_b, booth_c, booth_d) if f'id="reprint-{no}"' in text}

    assert listed("to_ship") == set()
    assert listed("shipped") == {mail_a, booth_d}
    assert listed("refunded") == {mail_b, booth_c}
    assert listed("all") == {mail_a, mail_b, booth_c, booth_d}
    assert listed("bogus") == set()  # an unknown filter falls back to 待发货
    assert "没有待发货的加洗订单" in c.get("/console/reprints").text

    # the audit page shows the actions, without names, codes or addresses
    audit = c.get("/console/audit").text
    assert "reprint_shipped" in audit and "reprint_refunded" in audit
    assert "吴小明" not in audit and STUDENT["code"] not in audit and "五山路" not in audit


def _wait_state(run: Running, request_id: int, state: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with run.server.db.read() as conn:
            got = conn.execute(
                select(t.email_requests.c.state).where(t.email_requests.c.id == request_id)
            ).scalar()
        if got == state:
            return
        time.sleep(0.05)
    raise AssertionError(f"e-mail request {request_id} is {got}, not {state}")


def test_failed_email_retried_from_console(tmp_path, db_url, photo):
    smtp = SmtpServer()  # its port is chosen but nothing listens yet: sending fails
    run = Running(
        tmp_path / "center",
        db_url,
        base_overrides(smtp={"port": smtp.port, "max_attempts": 1, "timeout": 2}),
    ).start()
    try:
        kiosk = run.client()
        order_no = completed_order(run, photo)
        r = kiosk.post(
            "/api/v1/email",
            json={"collection_code": STUDENT["code"], "name": "吴小明", "email": "wu@example.cn"},
        )
        request_id = r.json()["request_id"]
        _wait_state(run, request_id, "failed")

        c = console_client(run)
        page = c.get("/console/kiosks").text
        assert f'action="/console/emails/{request_id}/retry"' in page
        # the state and the error in Chinese; the exception text stays in the log
        row = page[page.index(f'id="mail-{request_id}"') :].split("</tr>")[0]
        assert "发送失败" in row and "无法连接邮件服务器" in row
        assert "Error" not in row and "Errno" not in row and "refused" not in row
        csrf = csrf_of(page)
        assert c.post(f"/console/emails/{request_id}/retry", data={"csrf": "x"}).status_code == 403

        with smtp:
            r = c.post(
                f"/console/emails/{request_id}/retry", data={"csrf": csrf}, follow_redirects=True
            )
            assert "已重新排队发送" in r.text
            assert smtp.inbox.arrived.wait(10), "the retried e-mail did not arrive"
        _wait_state(run, request_id, "sent")
        assert "wu@example.cn" in smtp.inbox.messages[0]["To"]
        assert _audit(run, "email_retry") == [("reviewer:rev", order_no, f"request {request_id}")]

        # only failed requests can be retried
        r = c.post(
            f"/console/emails/{request_id}/retry", data={"csrf": csrf}, follow_redirects=True
        )
        assert "只有发送失败的邮件可以重试" in r.text
        r = c.post("/console/emails/99999/retry", data={"csrf": csrf}, follow_redirects=True)
        assert "没有这个邮件请求" in r.text
        assert len(_audit(run, "email_retry")) == 1
        assert 'class="retry"' not in c.get("/console/kiosks").text
    finally:
        run.stop()
