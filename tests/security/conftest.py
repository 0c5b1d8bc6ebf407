"""The attacks of issue 10 against the real center on loopback (SQLite and, with
KIOSK_TEST_PG_URL, PostgreSQL): the fixtures of tests/center."""

from tests.center.conftest import center, db_url, photo, photo2, sqlite_center  # noqa: F401
