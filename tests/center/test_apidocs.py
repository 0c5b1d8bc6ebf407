"""The API documentation page at /docs: drawn from the served OpenAPI document,
complete, offline (no script, no outside resource), readable in a real browser."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.center.test_console_browser import CHROMEDRIVER, CHROMIUM, browser  # noqa: F401


def test_docs_page_names_every_operation_and_schema(sqlite_center):
    url = sqlite_center.url
    spec = httpx.get(f"{url}/openapi.json").json()
    r = httpx.get(f"{url}/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    for path, methods in spec["paths"].items():
        for method in methods:
            assert re.search(rf">{method.upper()}</span> <code>{re.escape(path)}</code>", page), path
    for name, schema in spec["components"]["schemas"].items():
        assert f'id="schema-{name}"' in page
        for field in schema.get("properties", {}):
            assert f"<code>{field}</code>" in page
    # the constraints a kiosk developer needs are on the page
    assert "^[A-Za-z0-9]{6,64}$" in page  # collection code pattern
    assert "<td>423</td>" in page  # identify: locked out
    assert '<a href="/openapi.json">/openapi.json</a>' in page
    # nothing loaded from elsewhere, nothing executed
    assert "<script" not in page.lower()
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "default-src 'none'" in r.headers["content-security-policy"]


@pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()), reason="no chromium")
def test_docs_page_in_a_browser(sqlite_center, browser):  # noqa: F811
    from selenium.webdriver.common.by import By

    browser.get(f"{sqlite_center.url}/docs")
    assert "API" in browser.title
    heading = browser.find_element(By.ID, "op-upload_photo_api_v1_photos_post")
    assert heading.is_displayed() and "POST" in heading.text and "/api/v1/photos" in heading.text
    # the index links to the operation
    browser.find_element(By.LINK_TEXT, "POST /api/v1/photos").click()
    assert browser.current_url.endswith("#op-upload_photo_api_v1_photos_post")
    # the page fetched nothing besides itself
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert resources == []
