"""Settings every test starts from: no system config, a private state dir, no network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ["KIOSK_CONFIG"] = "/nonexistent/kiosk.toml"



def _own_database_per_worker() -> None:
    """Under pytest-xdist each worker gets its own PostgreSQL database.

    The center's tests empty their database's schema before each use; two
    workers on one database would empty it under each other.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = os.environ.get("KIOSK_TEST_PG_URL")
    if not worker or not url:
        return
    from sqlalchemy import create_engine, text

    from center.db import normalize_url

    base, _, name = url.rpartition("/")
    own = f"{name}_{worker}"
    engine = create_engine(normalize_url(f"{base}/postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        known = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": own}).first()
        if known is None:
            conn.execute(text(f'CREATE DATABASE "{own}"'))
    engine.dispose()
    os.environ["KIOSK_TEST_PG_URL"] = f"{base}/{own}"


_own_database_per_worker()

PORTRAITS = Path(
    os.environ.get("KIOSK_PORTRAITS")
    or Path(__file__).resolve().parents[2] / "shared" / "testdata" / "portraits"
)


@pytest.fixture(autouse=True)
def _state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("KIOSK_STATE_DIR", str(path))
    return path


@pytest.fixture(scope="session")
def portraits() -> Path:
    return PORTRAITS


def center_conf() -> dict:
    """The ``[center_server]`` table as a booth's program parses it (here: the defaults)."""
    from kiosk.settings import load_settings

    return load_settings().section("center_server")
