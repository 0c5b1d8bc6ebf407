"""The review console in headless Chromium, as reviewers use it.

One center (with the real background check) and one browser serve the whole
module: ten-odd uploads including a photo with two faces, two retakes (one a
different person, one the rejected file again) and two reviewers. At 1366×768
and 1920×1080 every page is screenshotted; on the review page the photo, the
failures and the decision controls must be inside the viewport. Then the
keyboard: a double key decides one photo only, r without a reason never types
into the note, u undoes; the batch page and the sign-in, export, import,
kiosks, audit and reprint pages.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from center import schema as t
from center.admin import add_reviewer
from center.review import decide
from tests.center.conftest import (
    REVIEWER,
    STUDENT_X,
    Running,
    base_overrides,
    completed_order,
    csrf_of,
    granted,
    make_jpeg,
    upload,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SIZES = [(1366, 768), (1920, 1080)]
CODES = [f"DEMO2026GD00000{i}" for i in range(1, 9)]  # config/demo/roster.csv
# Screenshots go to a temporary directory; KIOSK_CONSOLE_SCREENS=DIR keeps them.
SCREENS = os.environ.get("KIOSK_CONSOLE_SCREENS", "")

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()), reason="chromium/chromedriver not installed"
)


def _driver(profile: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

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
        "--lang=zh-CN",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    driver.implicitly_wait(5)
    return driver


@pytest.fixture(scope="module")
def browser():
    profile = tempfile.mkdtemp(prefix="kiosk-chromium-")
    driver = _driver(profile)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Scene:
    """The module's center, its uploads and who holds which order."""

    def __init__(self, run: Running, shots: Path) -> None:
        self.run = run
        self.shots = shots
        self.orders: dict[str, str] = {}  # role -> order number
        self.versions: dict[str, int] = {}  # role -> version id

    @property
    def db(self):
        return self.run.server.db

    def version_id(self, order_no: str) -> int:
        with self.db.read() as conn:
            return conn.execute(
                select(func.max(t.photo_versions.c.id))
                .join(t.orders, t.orders.c.id == t.photo_versions.c.order_id)
                .where(t.orders.c.order_no == order_no)
            ).scalar_one()

    def state(self, order_no: str) -> str:
        with self.db.read() as conn:
            return conn.execute(
                select(t.orders.c.state).where(t.orders.c.order_no == order_no)
            ).scalar_one()

    def reviews_by(self, name: str) -> int:
        with self.db.read() as conn:
            return conn.execute(
                select(func.count())
                .select_from(t.reviews)
                .join(t.reviewers, t.reviewers.c.id == t.reviews.c.reviewer_id)
                .where(t.reviewers.c.name == name, t.reviews.c.undone_at.is_(None))
            ).scalar_one()


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """Uploads: a photo with two faces (fails the check), ordinary ones, a retake by a
    different person and a retake that is the rejected file again."""
    tmp = tmp_path_factory.mktemp("console")
    over = base_overrides(
        upload={"check_workers": 1, "check_quiet_seconds": 0.0},
        review={"batch_page_rows": 5, "poll_seconds": 1},
    )
    run = Running(tmp / "center", f"sqlite+pysqlite:///{tmp / 'c.db'}", over).start()
    shots = Path(SCREENS) if SCREENS else tmp / "screens"
    shots.mkdir(parents=True, exist_ok=True)
    sc = Scene(run, shots)
    kiosk = run.client()
    add_reviewer(run.server.db, "rev0", "long password")
    add_reviewer(run.server.db, "reviewer1", "s3cret-pass", admin=True)  # imports a roster
    with run.server.db.read() as conn:
        rev0 = conn.execute(select(t.reviewers.c.id).where(t.reviewers.c.name == "rev0")).scalar()

    def put(role: str, code: str, data: bytes, key: str) -> None:
        r = upload(kiosk, code, data, key)
        assert r.status_code == 201, r.text
        sc.orders[role] = r.json()["order"]["order_no"]
        sc.versions[role] = sc.version_id(sc.orders[role])

    # two photos the kiosk's own pipeline made from portraits (they pass the check),
    # then one with two faces: it fails the check and must come first all the same
    put("pass1", CODES[0], _booth_photo("asian_woman_longhair_grey.jpg"), "k-b-pass-1")
    put("pass2", CODES[2], _booth_photo("asian_woman_street.jpg"), "k-b-pass-2")
    put("two_faces", CODES[1], make_jpeg("two_faces_event.jpg", 60), "k-b-two-faces")
    # a retake by another person; a retake that is the rejected file again
    put("other_person", CODES[3], _booth_photo("asian_girl_indoor.jpg"), "k-b-retake-1")
    decide(run.server.db, sc.versions["other_person"], (rev0, "rev0"), "reject",
           "manual.other", "照片不符合要求，请按备注修改后重拍。备注：请摘下眼镜")  # fmt: skip
    put("other_person", CODES[3], make_jpeg("man_beard_grey.jpg", 60), "k-b-retake-2")
    same = make_jpeg("asian_woman_street.jpg", 60)
    put("same_file", CODES[4], same, "k-b-same-1")
    decide(run.server.db, sc.versions["same_file"], (rev0, "rev0"), "reject", "face_width.fail_low",
           "人像太小，请靠近镜头重拍。")  # fmt: skip
    put("same_file", CODES[4], same, "k-b-same-2")
    put("plain", CODES[5], make_jpeg("man_suit_office.jpg", 75), "k-b-plain")
    kiosk.post(
        "/api/v1/heartbeat",
        json={
            "health": {"camera": {"state": "ok"}, "printer": {"state": "degraded"}},
            "counters": {"photos": 12},
            "outbox_depth": 7,
            "version": "0.2.0",
        },
    )
    # the real compliance check runs in the background; wait for its reports
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        with run.server.db.read() as conn:
            left = conn.execute(
                select(func.count())
                .select_from(t.photo_versions)
                .where(t.photo_versions.c.check_state.in_(("queued", "running")))
            ).scalar_one()
        if not left:
            break
        time.sleep(0.5)
    assert not left, "background checks did not finish"
    yield sc
    run.stop()


def _booth_photo(name: str) -> bytes:
    """What a booth uploads: the kiosk's pipeline run on a portrait (a compliant photo)."""
    from kiosk.paths import PORTRAITS_DIR
    from kiosk.photo.pipeline import make_photo

    return make_photo(PORTRAITS_DIR / name).jpeg


def _viewport(b, size: tuple[int, int]) -> None:
    b.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": False},
    )


def _inside(b, element_id: str) -> dict:
    """The element's box and whether all of it is in the viewport without scrolling."""
    return b.execute_script(
        """const r = document.getElementById(arguments[0]).getBoundingClientRect();
           return {top: r.top, bottom: r.bottom, left: r.left, right: r.right,
                   inside: r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight
                           && r.right <= innerWidth && r.height > 0,
                   scrollY: scrollY, vh: innerHeight, vw: innerWidth};""",
        element_id,
    )


def _sign_in(b, url: str, name: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    b.get(url + "/console/login")
    b.find_element(By.ID, "name").send_keys(name)
    b.find_element(By.ID, "password").send_keys(password)
    b.find_element(By.ID, "sign-in").click()


def _order_shown(b) -> str:
    from selenium.webdriver.common.by import By

    return b.find_element(By.ID, "order-no").text


def _wait(cond, timeout: float = 5.0) -> bool:
    """Until ``cond()`` holds; a page reloading meanwhile (stale or missing element) is retried."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    end = time.monotonic() + timeout
    while True:
        try:
            if cond():
                return True
        except (StaleElementReferenceException, NoSuchElementException):
            pass
        if time.monotonic() > end:
            return False
        time.sleep(0.05)


def test_sign_in(scene, browser):
    from selenium.webdriver.common.by import By

    b, url = browser, scene.run.url
    b.get(url + "/console/review")
    assert b.current_url.endswith("/console/login")
    b.find_element(By.ID, "name").send_keys("reviewer1")
    b.find_element(By.ID, "password").send_keys("wrong-password")
    b.find_element(By.ID, "sign-in").click()
    assert "不正确" in b.find_element(By.ID, "error").text
    _sign_in(b, url, "reviewer1", "s3cret-pass")
    assert b.find_element(By.ID, "photo")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_review_page_fits_the_screen(scene, browser, size):
    from selenium.webdriver.common.by import By

    b = browser
    _viewport(b, size)
    b.get(scene.run.url + "/console/review")
    # the photo that failed the check comes first, with its failed items
    assert _order_shown(b) == scene.orders["two_faces"]
    failures = b.find_element(By.ID, "failures").text
    assert "自动检查未通过" in failures and "人脸数量" in failures
    assert "多于一张人脸" in failures
    first = b.find_element(By.ID, "reason-1")
    assert first.is_selected() and first.get_attribute("value") == "single_face.fail_high"
    img = b.find_element(By.ID, "photo")
    assert _wait(lambda: b.execute_script("return arguments[0].naturalWidth", img) == 480)
    for part in ("photo", "failures", "approve", "reject", "reason-1", "note", "skip"):
        box = _inside(b, part)
        assert box["inside"], f"{part} outside the {size} viewport: {box}"
    over = b.execute_script(
        "const e = document.documentElement;"
        "return [e.scrollWidth - innerWidth, e.scrollHeight - innerHeight];"
    )
    assert over[0] <= 0 and over[1] <= 0, f"the review page scrolls at {size}: {over}"
    # the photo scales with the window; guide labels stay readable (outlined text)
    height = _inside(b, "photo")["bottom"] - _inside(b, "photo")["top"]
    assert height >= 0.8 * (size[1] - 110)
    assert b.execute_script(
        "return getComputedStyle(document.querySelector('#guides text')).paintOrder"
    ).startswith("stroke")
    # one language: no English words, no raw floats in the report
    text = b.find_element(By.ID, "info").text
    assert "blue" not in text and "pass" not in text and "fail" not in text
    b.find_element(By.ID, "full-report").click()
    report = b.find_element(By.ID, "report").text
    assert "合格" in report and not __import__("re").search(r"\d+\.\d{3,}", report)
    b.find_element(By.ID, "full-report").click()
    # zoom and guides toggles
    body = b.find_element(By.TAG_NAME, "body")
    body.send_keys("z")
    assert "zoomed" in b.find_element(By.ID, "photo-frame").get_attribute("class")
    body.send_keys("z")
    body.send_keys("g")
    assert not b.find_element(By.ID, "guides").is_displayed()
    body.send_keys("g")
    b.save_screenshot(str(scene.shots / f"review-{size[0]}x{size[1]}.png"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_other_pages_at_both_sizes(scene, browser, size):
    """Every page renders without sideways scrolling; screenshots for a person to look at."""
    from selenium.webdriver.common.by import By

    b = browser
    _viewport(b, size)
    for name, path in (
        ("decisions", "/console/decisions"),
        ("batches", "/console/batches"),
        ("batch", "/console/batches/GD2026-01"),
        ("kiosks", "/console/kiosks"),
        ("audit", "/console/audit"),
        ("reprints", "/console/reprints"),
    ):
        b.get(scene.run.url + path)
        assert b.find_element(By.TAG_NAME, "h1")
        wide = b.execute_script("return document.documentElement.scrollWidth - innerWidth")
        assert wide <= 0, f"{name} scrolls sideways by {wide}px at {size}"
        b.save_screenshot(str(scene.shots / f"{name}-{size[0]}x{size[1]}.png"))


def test_no_reason_keys_never_leak_into_the_note(scene, browser):
    from selenium.webdriver.common.by import By

    b = browser
    _viewport(b, SIZES[0])
    b.get(scene.run.url + "/console/review")
    assert _order_shown(b) == scene.orders["two_faces"]
    body = b.find_element(By.TAG_NAME, "body")
    body.send_keys("1")  # un-tick the pre-selected failure: no reason left
    assert not b.find_element(By.ID, "reason-1").is_selected()
    time.sleep(0.7)  # past the guard time
    body.send_keys("r")
    assert "请先用数字键勾选" in b.find_element(By.ID, "hint").text
    body.send_keys("x2q")  # what followed the "r" last time
    note = b.find_element(By.ID, "note")
    assert note.get_attribute("value") == ""
    assert b.execute_script("return document.activeElement.id") != "note"
    assert b.execute_script("return scrollY") == 0
    assert _inside(b, "photo")["inside"]
    assert scene.state(scene.orders["two_faces"]) == "pending_review"
    assert b.find_element(By.ID, "reason-2").is_selected()  # "2" picked reason 2
    body.send_keys("2")  # un-tick it again
    # typing in the note does not trigger shortcuts; Esc leaves it
    note.click()
    note.send_keys("ar12")
    assert note.get_attribute("value") == "ar12"
    assert scene.state(scene.orders["two_faces"]) == "pending_review"
    note.clear()


def test_double_key_decides_one_photo_and_u_undoes(scene, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    b = browser
    _viewport(b, SIZES[0])
    b.get(scene.run.url + "/console/review")
    shown = _order_shown(b)
    before = scene.reviews_by("reviewer1")
    time.sleep(0.7)
    ActionChains(b).send_keys("a").pause(0.12).send_keys("a").perform()  # 120 ms apart
    assert _wait(lambda: _order_shown(b) != shown)
    nxt = _order_shown(b)
    time.sleep(1.0)  # anything the second key could have sent has arrived by now
    assert scene.reviews_by("reviewer1") == before + 1
    assert scene.state(shown) == "processing"
    assert scene.state(nxt) == "pending_review" and _order_shown(b) == nxt
    assert "已转为待处理" in b.find_element(By.ID, "flash").text
    # u: the decision is undone and the photo comes back
    time.sleep(0.7)
    b.find_element(By.TAG_NAME, "body").send_keys("u")
    assert _wait(lambda: "已撤销" in b.find_element(By.ID, "flash").text)
    assert _order_shown(b) == shown and scene.state(shown) == "pending_review"
    assert scene.reviews_by("reviewer1") == before
    # now reject it for real: the failed item was pre-selected, r rejects
    time.sleep(0.7)
    b.find_element(By.TAG_NAME, "body").send_keys("r")
    assert _wait(lambda: "未通过" in b.find_element(By.ID, "flash").text)
    with scene.db.read() as conn:
        text = conn.execute(
            select(t.orders.c.reason_text).where(t.orders.c.order_no == shown)
        ).scalar_one()
    assert "多于一张人脸" in text


def test_two_reviewers_see_different_photos(scene, browser):
    import re

    b = browser
    b.get(scene.run.url + "/console/review")
    mine = _order_shown(b)
    add_reviewer(scene.db, "reviewer2", "other password")
    c = httpx.Client(base_url=scene.run.url, timeout=10)
    c.post("/console/login", data={"name": "reviewer2", "password": "other password"})
    page2 = c.get("/console/review").text
    theirs = re.search(r'id="order-no">(\d+)<', page2).group(1)
    assert theirs != mine
    b.refresh()
    assert _order_shown(b) == mine  # still mine, not handed over
    # reviewer2 skips: theirs goes back to the queue, they get a third, never mine
    vid = re.search(r'action="/console/review/(\d+)"', page2).group(1)
    third = re.search(r'id="order-no">(\d+)<', c.get(f"/console/review?skip={vid}").text).group(1)
    assert third not in (mine, theirs)
    page = b.page_source
    assert re.search(r'id="mine-today">\d+<', page)


def test_retakes_beside_their_predecessor(scene, browser):
    from selenium.webdriver.common.by import By

    b = browser
    _viewport(b, SIZES[0])
    b.get(scene.run.url + f"/console/review?want={scene.versions['other_person']}")
    assert _order_shown(b) == scene.orders["other_person"]
    assert b.find_element(By.ID, "version").text == "第 2 版"
    retake = b.find_element(By.ID, "retake").text
    assert "上一版（第 1 版）" in retake and "请摘下眼镜" in retake
    assert "可能不是同一人" in retake and "完全相同" not in retake
    prev = b.find_element(By.ID, "prev-photo")
    assert _wait(lambda: b.execute_script("return arguments[0].naturalWidth", prev) == 480)
    assert _inside(b, "retake")["inside"] and _inside(b, "approve")["inside"]
    b.save_screenshot(str(scene.shots / "retake-1366x768.png"))
    b.get(scene.run.url + f"/console/review?want={scene.versions['same_file']}")
    assert _order_shown(b) == scene.orders["same_file"]
    retake = b.find_element(By.ID, "retake").text
    assert "完全相同" in retake and "人像太小" in retake
    assert "可能不是同一人" not in retake


def test_check_running_note_refreshes_by_itself(scene, browser):
    """The check waits for 6 s without uploads here: the page opens before the report."""
    from selenium.webdriver.common.by import By

    b = browser
    scene.run.server.center.checks.quiet_seconds = 6.0  # check_quiet_seconds, from now on
    r = upload(scene.run.client(), CODES[6], make_jpeg("asian_woman_suit.jpg", 85), "k-b-late")
    assert r.status_code == 201
    vid = scene.version_id(r.json()["order"]["order_no"])
    b.get(scene.run.url + f"/console/review?want={vid}")
    assert "进行中" in b.find_element(By.ID, "check-note").text
    assert _wait(lambda: "自动检查" in b.find_element(By.ID, "failures").text, timeout=90)
    assert not b.find_elements(By.ID, "check-note")


def test_batch_page(scene, browser):
    from selenium.webdriver.common.by import By

    b = browser
    _viewport(b, SIZES[1])
    url = scene.run.url + "/console/batches/GD2026-01"
    b.get(url)
    assert "共 8 人" in b.find_element(By.ID, "pager").text
    assert "待审核 6" in b.find_element(By.ID, "filters").text  # two faces: 未通过
    with scene.db.read() as conn:
        rev0 = conn.execute(select(t.reviewers.c.id).where(t.reviewers.c.name == "rev0")).scalar()
    decide(scene.db, scene.versions["pass1"], (rev0, "rev0"), "approve")
    thumbs = b.find_elements(By.CSS_SELECTOR, "#orders img.thumb")
    assert thumbs and _wait(
        lambda: b.execute_script("return arguments[0].naturalWidth", thumbs[0]) == 480
    )
    # filter by state, search by masked name and by code
    b.find_element(By.ID, "filter-pending_review").click()
    states = {e.text for e in b.find_elements(By.CSS_SELECTOR, "#orders .state")}
    assert states == {"待审核"}
    b.get(url + "?q=" + "吴**")
    names = [e.text for e in b.find_elements(By.CSS_SELECTOR, "#orders .name")]
    assert names == ["吴**"]
    b.get(url + "?q=000003")
    assert [e.text for e in b.find_elements(By.CSS_SELECTOR, "#orders .code")] == [CODES[2]]
    # paging: 5 rows a page (the center's setting in this module)
    b.get(url)
    assert "第 1/2 页" in b.find_element(By.ID, "pager").text
    assert len(b.find_elements(By.CSS_SELECTOR, "#orders tr.order-row")) == 5
    b.find_element(By.ID, "next-page").click()
    assert "第 2/2 页" in b.find_element(By.ID, "pager").text
    assert len(b.find_elements(By.CSS_SELECTOR, "#orders tr.order-row")) == 3
    # select all on the page, complete the 待处理 ones
    b.get(url + "?state=processing")
    b.find_element(By.ID, "select-all").click()
    picks = b.find_elements(By.CSS_SELECTOR, "#orders input.pick")
    assert picks and all(p.is_selected() for p in picks)
    b.find_element(By.ID, "complete-selected").click()
    assert f"已完成 {len(picks)}" in b.find_element(By.ID, "flash").text


def test_export_import_kiosks_audit(scene, browser, tmp_path):
    from selenium.webdriver.common.by import By

    b, url = browser, scene.run.url
    cookies = {c["name"]: c["value"] for c in b.get_cookies()}
    r = httpx.get(url + "/console/batches/GD2026-01/export.zip", cookies=cookies)
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert zf.namelist()  # the completed orders, named by collection code
        assert all(n.startswith("DEMO2026GD") and n.endswith(".jpg") for n in zf.namelist())
    assert httpx.get(url + "/console/batches/GD2026-01/export.zip").status_code != 200
    # a GBK roster through the page
    csv = tmp_path / "名单.csv"
    csv.write_bytes(
        "采集码,姓名,证件号后四位,学校,层次,专业,批次\n"
        "DEMO2026GD000099,赵六,4321,华南理工大学,本科,数学,GD2026-01\n".encode("gbk")
    )
    b.get(url + "/console/batches")
    b.find_element(By.ID, "roster-file").send_keys(str(csv))
    b.find_element(By.ID, "import").click()
    assert "新增 1" in b.find_element(By.ID, "flash").text
    bad = tmp_path / "bad.csv"
    bad.write_bytes("采集码,姓名\nX,李四\n".encode("gbk"))
    b.find_element(By.ID, "roster-file").send_keys(str(bad))
    b.find_element(By.ID, "import").click()
    assert "缺少这些列" in b.find_element(By.ID, "import-errors").text
    # kiosks: Chinese device states
    b.get(url + "/console/kiosks")
    row = b.find_element(By.ID, "kiosks").text
    assert "test-kiosk" in row and "打印机：降级" in row and "相机：正常" in row
    assert "拍照 12" in row
    assert b.find_element(By.CSS_SELECTOR, "#kiosks .outbox").text == "7"
    # audit log: actions in Chinese, without personal data
    b.get(url + "/console/audit")
    cells = b.find_elements(By.CSS_SELECTOR, "#audit .action")
    actions = {e.get_attribute("data-action") for e in cells}
    for action in ("reject", "approve", "undo", "complete", "export", "roster_import", "upload"):
        assert action in actions
    assert "撤销审核决定" in {e.text for e in cells}
    page = b.find_element(By.ID, "audit").text
    assert CODES[0] not in page and "吴小明" not in page
    assert "version" not in page and "第 2 版" in page and "人脸数量" in page


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_reprints_console(center, browser, photo):
    from selenium.webdriver.common.by import By

    kiosk = center.client()
    completed_order(center, photo)
    numbers = []
    for address in ("广东省广州市天河区五山路381号", "广东省广州市番禺区大学城外环东路"):
        r = kiosk.post(
            "/api/v1/reprints",
            json={
                "collection_code": CODES[0],
                "layout": 1,
                "copies": 2,
                "delivery": "mail",
                "address": address,
            },
        )
        numbers.append(r.json()["reprint_no"])
    ship, refund = numbers
    add_reviewer(center.server.db, *REVIEWER, admin=True)  # refunds are an administrator's
    b = browser
    b.delete_all_cookies()
    _sign_in(b, center.url, *REVIEWER)
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
    actions = [
        e.get_attribute("data-action") for e in b.find_elements(By.CSS_SELECTOR, "#audit .action")
    ]
    assert "reprint_shipped" in actions and "reprint_refunded" in actions


def _post_in_page(b, action: str) -> None:
    """Submit a form the page does not offer (a hand-typed admin URL), with the page's CSRF."""
    b.execute_script(
        "const f = document.createElement('form'); f.method = 'post'; f.action = arguments[0];"
        "const c = document.createElement('input'); c.type = 'hidden'; c.name = 'csrf';"
        "c.value = document.querySelector('input[name=csrf]').value; f.appendChild(c);"
        "document.body.appendChild(f); f.submit();",
        action,
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_roles_reviewer_reviews_administrator_administers(center, browser, photo, photo2):
    """A reviewer signs in, approves a photo, sees no administrator's controls and is
    refused (403, a Chinese sentence) when it posts to them anyway; an administrator can."""
    from selenium.webdriver.common.by import By

    db, url = center.server.db, center.url
    completed_order(center, photo)
    reprint = center.client().post(
        "/api/v1/reprints",
        json={"collection_code": CODES[0], "layout": 1, "copies": 1,
              "delivery": "mail", "address": "广东省广州市天河区五山路381号"},
    )  # fmt: skip
    assert reprint.status_code in (200, 201), reprint.text
    reprint_no = reprint.json()["reprint_no"]
    r = upload(granted(center, STUDENT_X), STUDENT_X["code"], photo2, "k-roles-1")
    assert r.status_code == 201, r.text
    pending = r.json()["order"]["order_no"]
    add_reviewer(db, "reviewer-only", "reviewer password")
    add_reviewer(db, "boss", "administrator password", admin=True)

    def state(order_no: str) -> str:
        with db.read() as conn:
            return conn.execute(
                select(t.orders.c.state).where(t.orders.c.order_no == order_no)
            ).scalar_one()

    def kiosk_disabled() -> bool:
        with db.read() as conn:
            return bool(conn.execute(select(t.kiosks.c.disabled)).scalar_one())

    b = browser
    _viewport(b, SIZES[0])
    b.delete_all_cookies()
    _sign_in(b, url, "reviewer-only", "reviewer password")
    assert b.find_element(By.ID, "role").text == "审核员"
    # the reviewer reviews: the photo is shown and a approves it
    assert _order_shown(b) == pending
    time.sleep(0.7)  # the guard time after a photo appears
    b.find_element(By.TAG_NAME, "body").send_keys("a")
    assert _wait(lambda: "已转为待处理" in b.find_element(By.ID, "flash").text)
    assert state(pending) == "processing"
    # no administrator's controls on any page
    b.get(url + "/console/batches")
    assert b.find_elements(By.ID, "batches") or b.find_elements(By.TAG_NAME, "table")
    assert 'id="roster-file"' not in b.page_source and 'action="/console/roster"' not in b.page_source
    b.get(url + "/console/kiosks")
    assert "test-kiosk" in b.find_element(By.ID, "kiosks").text  # health is shown
    assert "/console/kiosks/1/" not in b.page_source  # but no disable / re-key
    b.get(url + "/console/reprints")
    assert b.find_element(By.ID, f"reprint-{reprint_no}")
    assert 'class="refund"' not in b.page_source and 'class="ship"' in b.page_source
    # ... and the server refuses them typed by hand: 403 and a sentence in Chinese
    for action in (
        "/console/kiosks/1/disable",
        f"/console/reprints/{reprint_no}/refund",
    ):
        _post_in_page(b, url + action)
        assert _wait(lambda: b.find_elements(By.ID, "forbidden"))
        assert "没有权限" in b.find_element(By.ID, "forbidden").text
        b.get(url + "/console/reprints")
    cookies = {c["name"]: c["value"] for c in b.get_cookies()}
    page = httpx.get(url + "/console/reprints", cookies=cookies).text
    roster = "collection_code,name,id_last4,school,level,major,batch\n" \
             "DEMO2026GD000098,赵六,4321,学校,本科,数学,GD2026-01\n"  # fmt: skip
    r = httpx.post(url + "/console/roster", cookies=cookies, data={"csrf": csrf_of(page)},
                   files={"file": ("r.csv", roster.encode(), "text/csv")})  # fmt: skip
    assert r.status_code == 403 and "没有权限" in r.text and "导入名单" in r.text
    assert not kiosk_disabled()
    with db.read() as conn:
        assert conn.execute(
            select(t.reprints.c.state).where(t.reprints.c.reprint_no == reprint_no)
        ).scalar_one() == "to_ship"
        assert conn.execute(
            select(func.count()).select_from(t.students)
            .where(t.students.c.collection_code == "DEMO2026GD000098")
        ).scalar_one() == 0  # fmt: skip
        refused = conn.execute(
            select(t.audit_log.c.actor, t.audit_log.c.detail).where(
                t.audit_log.c.action == "forbidden"
            )
        ).all()
    assert sorted(d for _, d in refused) == [
        "role reviewer: kiosk_manage", "role reviewer: refund", "role reviewer: roster_import"
    ]
    assert {a for a, _ in refused} == {"reviewer:reviewer-only"}

    # the administrator sees the controls and uses them
    b.delete_all_cookies()
    _sign_in(b, url, "boss", "administrator password")
    assert b.find_element(By.ID, "role").text == "管理员"
    b.get(url + "/console/batches")
    assert b.find_element(By.ID, "roster-file")
    b.get(url + "/console/kiosks")
    b.find_element(By.CSS_SELECTOR, "#kiosks button.disable").click()
    assert "已停用" in b.find_element(By.ID, "flash").text
    assert kiosk_disabled()
    b.get(url + "/console/reprints")
    b.find_element(By.CSS_SELECTOR, f"#reprint-{reprint_no} button.refund").click()
    b.switch_to.alert.accept()
    assert "已退款" in b.find_element(By.ID, "flash").text
    b.get(url + "/console/audit")
    page = b.find_element(By.ID, "audit").text
    assert "角色 管理员" in page and "角色 审核员" in page and "越权操作被拒绝" in page
