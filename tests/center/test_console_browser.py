"""The review console in headless Chromium: sign in, review with the keyboard,
complete orders, export, import a roster, see kiosks and the audit log; ship and
refund reprint orders."""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from pathlib import Path

import httpx
import pytest

from center.admin import add_reviewer
from tests.center.conftest import REVIEWER, STUDENT, STUDENT_X, completed_order, upload

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()), reason="chromium/chromedriver not installed"
)


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="kiosk-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1400,1000",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _status(client: httpx.Client, code: str) -> dict:
    return client.post("/api/v1/orders/status", json={"collection_code": code}).json()["order"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_review_console(center, browser, photo, photo2, tmp_path):
    from selenium.webdriver.common.by import By

    kiosk = center.client()
    add_reviewer(center.server.db, "reviewer1", "s3cret-pass")
    first = upload(kiosk, STUDENT["code"], photo, "k-browser-1").json()["order"]["order_no"]
    second = upload(kiosk, STUDENT_X["code"], photo2, "k-browser-2").json()["order"]["order_no"]
    kiosk.post(
        "/api/v1/heartbeat",
        json={
            "health": {"camera": "ok", "printer": "degraded"},
            "counters": {"photos": 12},
            "outbox_depth": 7,
            "version": "0.2.0",
        },
    )
    b = browser
    url = center.url

    # not signed in: sent to the sign-in page; a wrong password is refused
    b.get(url + "/console/review")
    assert b.current_url.endswith("/console/login")
    b.find_element(By.ID, "name").send_keys("reviewer1")
    b.find_element(By.ID, "password").send_keys("wrong-password")
    b.find_element(By.ID, "sign-in").click()
    assert "不正确" in b.find_element(By.ID, "error").text
    b.find_element(By.ID, "name").clear()
    b.find_element(By.ID, "name").send_keys("reviewer1")
    b.find_element(By.ID, "password").send_keys("s3cret-pass")
    b.find_element(By.ID, "sign-in").click()

    # the oldest pending photo, with the standard's guide lines over it
    assert b.find_element(By.ID, "order-no").text == first
    for band in ("hair-band", "eye-band", "face-band"):
        assert b.find_element(By.ID, band)
    img = b.find_element(By.ID, "photo")
    assert b.execute_script("return arguments[0].naturalWidth", img) == 480
    assert "check" in b.find_element(By.ID, "check-note").text  # the check is off in tests

    # keyboard: 1 picks the first preset reason, r rejects
    body = b.find_element(By.TAG_NAME, "body")
    body.send_keys("1")
    assert b.find_element(By.ID, "reason-1").is_selected()
    body.send_keys("r")
    assert "已退回" in b.find_element(By.ID, "flash").text
    o = _status(kiosk, STUDENT["code"])
    assert (o["state"], o["reason_code"]) == ("rejected", "eye_height")
    assert o["reason_text"].startswith("眼睛位置")

    # next photo: a approves
    assert b.find_element(By.ID, "order-no").text == second
    b.find_element(By.TAG_NAME, "body").send_keys("a")
    assert "已通过" in b.find_element(By.ID, "flash").text
    assert _status(kiosk, STUDENT_X["code"])["state"] == "processing"
    assert b.find_element(By.ID, "empty")

    # batch page: complete all approved orders
    b.get(url + "/console/batches/GD2026-01")
    b.find_element(By.ID, "complete-all").click()
    assert "已完成 1" in b.find_element(By.ID, "flash").text
    assert _status(kiosk, STUDENT_X["code"])["label"] == "订单完成"
    assert _status(kiosk, STUDENT["code"])["label"] == "未通过"

    # export: approved photos named by collection code (with the browser's session)
    cookies = {c["name"]: c["value"] for c in b.get_cookies()}
    r = httpx.get(url + "/console/batches/GD2026-01/export.zip", cookies=cookies)
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert zf.namelist() == [f"{STUDENT_X['code']}.jpg"]
        assert zf.read(f"{STUDENT_X['code']}.jpg") == photo2
    pdf = httpx.get(url + "/console/posters/region/R-GZ-01.pdf", cookies=cookies)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert httpx.get(url + "/console/batches/GD2026-01/export.zip").status_code != 200

    # import a roster through the page
    csv = tmp_path / "more.csv"
    csv.write_text(
        "collection_code,name,id_last4,school,level,major,batch\n"
        "DEMO2026GD000099,赵六,4321,华南理工大学,本科,数学,GD2026-01\n",
        encoding="utf-8",
    )
    b.get(url + "/console/batches")
    b.find_element(By.ID, "roster-file").send_keys(str(csv))
    b.find_element(By.ID, "import").click()
    assert "新增 1" in b.find_element(By.ID, "flash").text
    r = kiosk.post(
        "/api/v1/identify",
        json={
            "collection_code": "DEMO2026GD000099",
            "id_last4": "4321",
            "feature_code": "EK43",
            "context": {"kind": "batch", "id": "GD2026-01"},
        },
    )
    assert r.json()["student"]["masked_name"] == "赵*"

    # kiosks: last heartbeat with outbox depth and health
    b.get(url + "/console/kiosks")
    row = b.find_element(By.ID, "kiosks").text
    assert "test-kiosk" in row and "printer: degraded" in row
    assert b.find_element(By.CSS_SELECTOR, "#kiosks .outbox").text == "7"

    # audit log: who did what, without personal data
    b.get(url + "/console/audit")
    actions = [e.text for e in b.find_elements(By.CSS_SELECTOR, "#audit .action")]
    for action in ("reject", "approve", "complete", "export", "roster_import", "upload"):
        assert action in actions
    page = b.find_element(By.ID, "audit").text
    assert STUDENT["code"] not in page and "吴小明" not in page


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_reprints_console(center, browser, photo):
    from selenium.webdriver.common.by import By
    from sqlalchemy import select

    from center import schema as t

    kiosk = center.client()
    completed_order(center, photo)
    numbers = []
    for address in ("广东省广州市天河区五山路381号", "广东省广州市番禺区大学城外环东路"):
        r = kiosk.post(
            "/api/v1/reprints",
            json={
                "collection_code": STUDENT["code"],
                "layout": 1,
                "copies": 2,
                "delivery": "mail",
                "address": address,
            },
        )
        numbers.append(r.json()["reprint_no"])
    ship, refund = numbers
    b = browser
    b.get(center.url + "/console/login")
    b.find_element(By.ID, "name").send_keys(REVIEWER[0])
    b.find_element(By.ID, "password").send_keys(REVIEWER[1])
    b.find_element(By.ID, "sign-in").click()
    b.find_element(By.ID, "nav-reprints").click()
    row = b.find_element(By.ID, f"reprint-{ship}")
    assert "吴**" in row.text and "五山路381号" in row.text and "版式一" in row.text
    assert row.find_element(By.CSS_SELECTOR, ".state").text == "待发货"

    row.find_element(By.CSS_SELECTOR, "button.ship").click()
    assert f"{ship}" in b.find_element(By.ID, "flash").text
    assert "已发货" in b.find_element(By.ID, "flash").text
    assert f'id="reprint-{ship}"' not in b.page_source  # (no implicit wait for absence)

    b.find_element(By.CSS_SELECTOR, f"#reprint-{refund} button.refund").click()
    b.switch_to.alert.accept()  # 确认退款
    assert "已退款" in b.find_element(By.ID, "flash").text
    assert b.find_element(By.ID, "empty")

    b.find_element(By.ID, "filter-shipped").click()
    assert b.find_element(By.CSS_SELECTOR, f"#reprint-{ship} .state").text == "已发货"
    assert 'class="refund"' not in b.page_source  # no refund after 已发货
    with center.server.db.read() as conn:
        states = dict(conn.execute(select(t.reprints.c.reprint_no, t.reprints.c.state)).all())
    assert states == {ship: "shipped", refund: "refunded"}

    b.get(center.url + "/console/audit")
    actions = [e.text for e in b.find_elements(By.CSS_SELECTOR, "#audit .action")]
    assert "reprint_shipped" in actions and "reprint_refunded" in actions
