"""A real center on loopback (uvicorn in a thread) on SQLite and, when
KIOSK_TEST_PG_URL is set (scripts/test.d/postgres.sh), on PostgreSQL."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from center.demo import seed
from center.runner import ServerThread
from kiosk.cli.center_setup import center_settings

PORTRAITS = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "portraits"
PG_URL = os.environ.get("KIOSK_TEST_PG_URL", "")
BATCH_CTX = {"kind": "batch", "id": "GD2026-01"}
REGION_CTX = {"kind": "region", "id": "R-GZ-01"}
# From config/demo/roster.csv
STUDENT = {"code": "DEMO2026GD000001", "last4": "1234"}
STUDENT_X = {"code": "DEMO2026GD000003", "last4": "002X"}


def reset_pg(url: str) -> None:
    from sqlalchemy import create_engine, text

    from center.db import normalize_url

    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+pysqlite:///{tmp_path / 'center.db'}"
    if not PG_URL:
        pytest.skip("KIOSK_TEST_PG_URL not set (scripts/test.d/postgres.sh starts PostgreSQL)")
    reset_pg(PG_URL)
    return PG_URL


class Running:
    """A started center with a demo roster, a kiosk token and an HTTP client."""

    def __init__(self, data_dir: Path, db_url: str, overrides: dict[str, Any]) -> None:
        self.data_dir = data_dir
        self.db_url = db_url
        self.overrides = overrides
        self.server: ServerThread | None = None
        self.token = ""

    def start(self, port: int = 0) -> Running:
        settings = center_settings(
            data_dir=self.data_dir, db_url=self.db_url, overrides=self.overrides
        )
        self.server = ServerThread(settings, port=port).start()
        if not self.token:
            self.token = seed(self.server.db, "test-kiosk") or ""
        return self

    def stop(self) -> None:
        if self.server:
            self.server.stop()
            self.server = None

    @property
    def url(self) -> str:
        assert self.server
        return self.server.base_url

    def client(self, token: str | None = None) -> httpx.Client:
        """A kiosk's client: identifies a demo student the first time a call names
        their code, then sends that student's grant (tests of other things need
        not repeat identify; tests/security checks the grants themselves)."""
        tok = self.token if token is None else token
        headers = {"Authorization": f"Bearer {tok}"} if tok else {}
        return KioskHttp(base_url=self.url, headers=headers, timeout=10)


def demo_last4() -> dict[str, str]:
    import csv

    roster = Path(__file__).resolve().parents[2] / "config" / "demo" / "roster.csv"
    with roster.open(encoding="utf-8") as fh:
        return {r["collection_code"]: r["id_last4"] for r in csv.DictReader(fh)}


class KioskHttp(httpx.Client):
    """httpx.Client that identifies demo students on demand and sends their grant."""

    _last4: dict[str, str] | None = None

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.grants: dict[str, str] = {}

    def request(self, method: str, url: Any, **kw: Any) -> httpx.Response:  # type: ignore[override]
        body = kw.get("json") if isinstance(kw.get("json"), dict) else kw.get("data")
        code = body.get("collection_code") if isinstance(body, dict) else None
        if code and not str(url).endswith("/identify") and GRANT not in self.headers:
            grant = self.grants.get(code) or self._identify(code)
            if grant:
                kw["headers"] = {**(kw.get("headers") or {}), GRANT: grant}
        return super().request(method, url, **kw)

    def _identify(self, code: str) -> str | None:
        if KioskHttp._last4 is None:
            KioskHttp._last4 = demo_last4()
        last4 = KioskHttp._last4.get(code)
        if last4 is None:
            return None
        r = identify(self, {"code": code, "last4": last4})
        if r.status_code != 200:
            return None
        self.grants[code] = r.json()["grant"]["token"]
        return self.grants[code]


def base_overrides(**extra: Any) -> dict[str, Any]:
    over: dict[str, Any] = {"upload": {"check_workers": 0}}
    # KIOSK_TEST_PHOTO_STORE=database|s3 runs the suite on another photo store
    # (s3 needs KIOSK_TEST_S3_URL, from scripts/test.d/s3.sh).
    store = os.environ.get("KIOSK_TEST_PHOTO_STORE", "")
    if store == "s3":
        from tests.center.s3 import s3_conf

        over["photo_store"] = s3_conf(os.environ["KIOSK_TEST_S3_URL"])
    elif store:
        over["photo_store"] = {"backend": store}
    for key, value in extra.items():
        over[key] = {**over.get(key, {}), **value}
    return over


@pytest.fixture
def center(tmp_path: Path, db_url: str) -> Iterator[Running]:
    run = Running(tmp_path / "center", db_url, base_overrides()).start()
    yield run
    run.stop()


@pytest.fixture
def sqlite_center(tmp_path: Path) -> Iterator[Running]:
    run = Running(tmp_path / "center", f"sqlite+pysqlite:///{tmp_path / 'c.db'}", base_overrides())
    run.start()
    yield run
    run.stop()


def make_jpeg(name: str = "man_suit_office.jpg", quality: int = 75, size=(480, 640)) -> bytes:
    """A 480×640 test photo inside the standard's 20–40 KiB window (the center refuses others)."""
    img = Image.open(PORTRAITS / name).convert("RGB")
    w, h = img.size
    # crop to 3:4 around the centre, then scale (a test input, not the kiosk's pipeline)
    cw = min(w, h * 3 // 4)
    ch = cw * 4 // 3
    img = img.crop(((w - cw) // 2, (h - ch) // 2, (w + cw) // 2, (h + ch) // 2)).resize(size)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, dpi=(300, 300))
    return buf.getvalue()


@pytest.fixture(scope="session")
def photo() -> bytes:
    return make_jpeg()


@pytest.fixture(scope="session")
def photo2() -> bytes:
    return make_jpeg("asian_woman_suit.jpg")


def identify(client: httpx.Client, who: dict[str, str] = STUDENT, **over: Any) -> httpx.Response:
    body = {
        "collection_code": who["code"],
        "id_last4": who["last4"],
        "feature_code": "EK43",
        "context": BATCH_CTX,
    }
    body.update(over)
    return client.post("/api/v1/identify", json=body)


GRANT = "X-Kiosk-Grant"


def granted(
    run: Running, who: dict[str, str] = STUDENT, token: str | None = None, **over: Any
) -> httpx.Client:
    """A kiosk client that identified ``who``: it sends the session grant identify gave."""
    c = run.client(token)
    r = identify(c, who, **over)
    assert r.status_code == 200, r.text
    c.headers[GRANT] = r.json()["grant"]["token"]
    return c


def upload(client: httpx.Client, code: str, data: bytes, key: str) -> httpx.Response:
    return client.post(
        "/api/v1/photos",
        data={"collection_code": code, "idempotency_key": key},
        files={"photo": ("photo.jpg", data, "image/jpeg")},
    )


REVIEWER = ("rev", "correct horse")


def completed_order(run: Running, photo: bytes, who: dict[str, str] = STUDENT) -> str:
    """Upload ``who``'s photo, approve it and complete the order (订单完成); its number."""
    from sqlalchemy import select

    from center import schema as t
    from center.admin import add_reviewer
    from center.review import complete, decide

    assert run.server
    db = run.server.db
    r = upload(granted(run, who), who["code"], photo, f"k-done-{who['code']}")
    assert r.status_code == 201, r.text
    order_no = r.json()["order"]["order_no"]
    add_reviewer(db, *REVIEWER)
    with db.read() as conn:
        rid = conn.execute(
            select(t.reviewers.c.id).where(t.reviewers.c.name == REVIEWER[0])
        ).scalar_one()
        vid = (
            conn.execute(
                select(t.photo_versions.c.id)
                .join(t.orders, t.orders.c.id == t.photo_versions.c.order_id)
                .where(t.orders.c.order_no == order_no)
                .order_by(t.photo_versions.c.id.desc())
            )
            .scalars()
            .first()
        )
    decide(db, vid, (rid, REVIEWER[0]), "approve")
    assert complete(db, [order_no], "test") == 1
    return order_no


def console_client(run: Running, admin: bool = True) -> httpx.Client:
    """An HTTP client signed in to the console as REVIEWER (cookie kept by the client),
    an administrator unless ``admin`` is False (center/console/roles.py)."""
    from center.admin import add_reviewer

    assert run.server
    add_reviewer(run.server.db, *REVIEWER, admin=admin)
    c = httpx.Client(base_url=run.url, timeout=10)
    r = c.post("/console/login", data={"name": REVIEWER[0], "password": REVIEWER[1]})
    assert r.status_code == 303 and "center_session" in c.cookies, r.text
    return c


def csrf_of(page: str) -> str:
    import re

    m = re.search(r'name="csrf" value="([^"]+)"', page)
    assert m, "no form with a CSRF token on the page"
    return m.group(1)


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    """scripts/test.d/s3.sh's endpoint, or a private moto server for this module."""
    url = os.environ.get("KIOSK_TEST_S3_URL", "")
    if url:
        yield url
        return
    from tests.center.s3 import MotoServer

    server = MotoServer().start()
    yield server.url
    server.stop()
