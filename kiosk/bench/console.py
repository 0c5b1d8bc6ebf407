"""The reviewer's keyboard path in headless Chromium: how long from a key to the
next photo on screen.

A center runs in-process on loopback with N pending photos; Chromium (selenium)
signs in and decides them with the keyboard as a reviewer does: ``a`` to
approve, ``1`` then ``r`` to reject. Each decision waits out the guard time
first (decision keys within it are ignored on purpose), then the time from the
decision key to the next photo's order number on screen is measured. The
baseline, in the same run, is a plain reload of the review page.
"""

from __future__ import annotations

import argparse
import io
import shutil
import tempfile
import time
from pathlib import Path

from kiosk.bench._stats import line, median_ms, percentile

NAME = "console"
HELP = "review console in headless Chromium: key to next photo (approve, reject)"

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--photos", type=int, default=24, help="pending photos to decide")


def _photo(n: int) -> bytes:
    """A 480×640 JPEG inside the size window, different per upload (a comment)."""
    from PIL import Image

    from kiosk.paths import PORTRAITS_DIR

    src = next(iter(sorted(PORTRAITS_DIR.glob("*.jpg"))), None)
    img = Image.open(src).convert("RGB") if src else Image.new("RGB", (480, 640), (100, 197, 255))
    w, h = img.size
    cw = min(w, h * 3 // 4)
    ch = cw * 4 // 3
    img = img.crop(((w - cw) // 2, (h - ch) // 2, (w + cw) // 2, (h + ch) // 2)).resize((480, 640))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=75, comment=f"bench {n}".encode())
    return buf.getvalue()


def run(args: argparse.Namespace) -> int:
    import httpx
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    from center.admin import add_reviewer, import_roster
    from center.demo import seed
    from center.runner import ServerThread
    from kiosk.cli.center_setup import center_settings

    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        print("chromium and chromedriver are needed (scripts/apt-packages.txt)")
        return 3
    work = Path(tempfile.mkdtemp(prefix="kiosk-bench-console-"))
    settings = center_settings(
        data_dir=work / "center", overrides={"upload": {"check_workers": 0}}
    )
    server = ServerThread(settings, port=0).start()
    driver = None
    try:
        token = seed(server.db, "bench") or ""
        n = max(4, args.photos)
        rows = "".join(f"BENCH{i:08d},Student {i},1234,School,Bachelor,Major,GD2026-01\n" for i in range(n))
        import_roster(server.db, "collection_code,name,id_last4,school,level,major,batch\n" + rows)
        kiosk = httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        for i in range(n):
            r = kiosk.post(
                "/api/v1/photos",
                data={"collection_code": f"BENCH{i:08d}", "idempotency_key": f"bench-{i:06d}"},
                files={"photo": ("p.jpg", _photo(i), "image/jpeg")},
            )
            r.raise_for_status()
        add_reviewer(server.db, "bench", "bench password")
        guard = float(settings.get("review.guard_ms", 600)) / 1000.0
        opts = webdriver.ChromeOptions()
        opts.binary_location = str(CHROMIUM)
        for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking",
                    f"--user-data-dir={work / 'profile'}", "--window-size=1366,768"):  # fmt: skip
            opts.add_argument(arg)
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
        driver.implicitly_wait(5)
        driver.get(server.base_url + "/console/login")
        driver.find_element(By.ID, "name").send_keys("bench")
        driver.find_element(By.ID, "password").send_keys("bench password")
        driver.find_element(By.ID, "sign-in").click()

        def shown() -> str:
            return str(
                driver.execute_script(
                    "const e = document.getElementById('order-no');"
                    "return e && document.readyState !== 'loading' ? e.textContent : '';"
                )
            )

        def decide(keys: str) -> float:
            before = shown()
            time.sleep(guard + 0.05)  # decision keys inside the guard time are ignored
            body = driver.find_element(By.TAG_NAME, "body")
            if len(keys) > 1:
                body.send_keys(keys[:-1])
            t0 = time.perf_counter()
            body.send_keys(keys[-1])
            while True:
                now = shown()
                if now and now != before:
                    return time.perf_counter() - t0
                if time.perf_counter() - t0 > 10:
                    raise RuntimeError("the next photo did not appear")
                time.sleep(0.002)

        reloads = []
        for _ in range(5):
            t0 = time.perf_counter()
            driver.get(server.base_url + "/console/review")
            shown()
            reloads.append(time.perf_counter() - t0)
        half = (n - 1) // 2
        approve = [decide("a") for _ in range(half)]
        reject = [decide("1r") for _ in range(n - 1 - half)]
    finally:
        if driver is not None:
            driver.quit()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    base = median_ms(reloads)
    print(f"review console, {n} photos, guard {guard * 1000:.0f} ms (waited before each key)")
    print(line("baseline: review page reload, median", base, "ms"))
    for label, samples in (
        ("approve (a) -> next photo", approve),
        ("reject (1, r) -> next photo", reject),
    ):
        print(line(f"{label}, median", median_ms(samples), "ms"))
        print(line(f"{label}, p90", percentile(samples, 90) * 1000, "ms"))
        print(line(f"{label}, ratio to baseline", median_ms(samples) / base, "x"))
    return 0
