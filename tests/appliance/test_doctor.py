"""`kiosk doctor`: every check reports, findings a technician must act on fail the command."""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from kiosk.cli import main
from kiosk.settings import load_defaults, load_settings
from tests.conftest import center_conf


def _doctor(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, dict]:
    code = main(["doctor", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def _config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(text, encoding="utf-8")
    monkeypatch.setenv("KIOSK_CONFIG", str(cfg))
    return cfg


def test_json_reports_every_configured_check(capsys: pytest.CaptureFixture):
    code, report = _doctor(capsys)
    names = [c["name"] for c in report["checks"]]
    assert names == load_defaults()["doctor"]["checks"]
    for c in report["checks"]:
        assert c["status"] in ("ok", "warn", "fail") and c["detail"], c
        if c["status"] != "ok":
            assert c["hint"], c
    statuses = {c["status"] for c in report["checks"]}
    assert report["status"] == ("fail" if "fail" in statuses else
                                "warn" if "warn" in statuses else "ok")
    assert code == (3 if "fail" in statuses else 0)
    by_name = {c["name"]: c for c in report["checks"]}
    # The test machine's defaults: a simulated camera (a warning, not a booth's camera),
    # no printer queue configured, the font with the SC glyphs the setup extracted.
    assert by_name["camera"]["status"] == "warn" and "simulated" in by_name["camera"]["detail"]
    assert by_name["fonts"]["status"] == "ok"


def test_readable_output_names_problem_and_hint(tmp_path, monkeypatch, capsys):
    _config(tmp_path, monkeypatch, "[doctor.disk]\nwarn_mb = 999999999\nfail_mb = 99999999\n")
    assert main(["doctor", "--only", "disk,clock"]) == 3
    out = capsys.readouterr()
    assert "FAIL  disk" in out.out and "MiB free" in out.out and "→ free space" in out.out
    assert "needs a technician" in out.err


def test_clock_before_min_year_fails(tmp_path, monkeypatch, capsys):
    _config(tmp_path, monkeypatch, "[doctor.clock]\nmin_year = 2990\n")
    code, report = _doctor(capsys, "--only", "clock")
    assert code == 3 and report["checks"][0]["status"] == "fail"


def test_missing_part_reports_not_installed(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "hardware.cameras", None)  # as if never installed
    code, report = _doctor(capsys, "--only", "camera,disk")
    camera, disk = report["checks"]
    assert camera["status"] == "fail" and camera["detail"].startswith("not installed")
    assert disk["status"] == "ok"
    assert code == 3


def test_hung_check_is_cut_off_by_its_timeout(monkeypatch, capsys):
    import kiosk.doctor.clock as clock

    monkeypatch.setattr(clock, "_ntp_synced", lambda: time.sleep(5))  # a fake hung timedatectl
    start = time.monotonic()
    code, report = _doctor(capsys, "--only", "clock,disk", "--timeout", "0.3")
    assert time.monotonic() - start < 2
    assert report["checks"][0]["status"] == "fail" and "no answer" in report["checks"][0]["detail"]
    assert report["checks"][1]["status"] == "ok"


def test_broken_config_is_a_finding_not_a_crash(tmp_path, monkeypatch, capsys):
    cfg = _config(tmp_path, monkeypatch, "[doctor]\ntimeout = 3.0\n\n[camera]\nbakend = \"x\"\n")
    code, report = _doctor(capsys, "--only", "config,disk")
    assert code == 3
    config = report["checks"][0]
    assert config["status"] == "fail" and f"{cfg}:5:" in config["detail"]
    assert "camera.bakend" in config["detail"]


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (48, 64), (100, 197, 255)).save(buf, "JPEG")
    return buf.getvalue()


def test_outbox_backlog_warns_then_fails(tmp_path, monkeypatch, capsys, _state_dir: Path):
    from kiosk.link.outbox import Outbox

    box = Outbox.open_default(None, load_settings())
    for i in range(3):
        box.enqueue(f"TESTCODE{i:06d}X", _jpeg(), f"idem-key-{i:04d}")
    box.close()
    _config(tmp_path, monkeypatch, "[doctor.outbox]\nwarn_depth = 2\nfail_depth = 50\n")
    code, report = _doctor(capsys, "--only", "outbox")
    assert code == 0 and report["checks"][0]["status"] == "warn"
    assert report["checks"][0]["detail"].startswith("3 photo(s) waiting")
    assert "TESTCODE" not in json.dumps(report)
    _config(tmp_path, monkeypatch, "[doctor.outbox]\nwarn_depth = 1\nfail_depth = 3\n")
    code, report = _doctor(capsys, "--only", "outbox")
    assert code == 3 and report["checks"][0]["status"] == "fail"


def test_center_reachable_and_token_checked(tmp_path, monkeypatch, capsys, _state_dir: Path):
    from kiosk.link.embedded import EmbeddedCenter

    code, report = _doctor(capsys, "--only", "center")
    assert report["checks"][0]["status"] == "warn"  # embedded center not running

    with EmbeddedCenter(_state_dir, center_conf(), seed_demo=False) as center:
        code, report = _doctor(capsys, "--only", "center")
        assert code == 0 and report["checks"][0]["status"] == "ok", report
        assert "token accepted" in report["checks"][0]["detail"]

        token = tmp_path / "device-token"
        token.write_text("not-the-right-token\n")
        token.chmod(0o600)
        _config(tmp_path, monkeypatch,
                f'[center]\nurl = "{center.base_url}"\ntoken_file = "{token}"\n')
        code, report = _doctor(capsys, "--only", "center")
        assert code == 3 and "refused the booth" in report["checks"][0]["detail"]

    code, report = _doctor(capsys, "--only", "center")  # the configured center is gone
    assert code == 3 and report["checks"][0]["status"] == "fail"
