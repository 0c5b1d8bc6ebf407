"""The center judges uploads by its own configuration (``[center_server] upload.spec``),
never by the ``[photo]`` table a booth's kiosk.toml on the same host may hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.center.conftest import STUDENT, Running, base_overrides, granted, make_jpeg, upload


def test_a_booth_photo_table_on_the_host_does_not_change_the_upload_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = make_jpeg(quality=60)
    assert 20 * 1024 <= len(photo) < 35 * 1024  # inside the standard, outside this booth's window
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text("[photo]\nsize_min_kb = 35\n", encoding="utf-8")
    monkeypatch.setenv("KIOSK_CONFIG", str(cfg))
    run = Running(tmp_path / "center", f"sqlite+pysqlite:///{tmp_path / 'c.db'}",
                  base_overrides()).start()
    try:
        r = upload(granted(run), STUDENT["code"], photo, "cfg-test-0001")
        assert r.status_code == 201, r.text
    finally:
        run.stop()
