"""Typed settings: values a technician could mistype are refused at start, by file:line and key.

These are the values that `kiosk config check` used to call "config ok" (and
with which `kiosk run` ran for 45 s with a countdown of -5).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.settings import load_defaults
from kiosk.settings_schema import KioskSettings

BAD = [
    ("[ui.capture]\ncountdown = -5\n", 2, "ui.capture.countdown"),
    ("[ui.capture]\ncountdown = 100000\n", 2, "ui.capture.countdown"),
    ("[camera]\nbackend = \"nosuchcam\"\n", 2, "camera.backend"),
    ("[ui]\nlanguage = \"klingon\"\n", 2, "ui.language"),
    ("[outbox]\njitter = 5.0\n", 2, "outbox.jitter"),
    ("[outbox]\nbackoff_base_s = -2.0\n", 2, "outbox.backoff_base_s"),
    ("[camera]\ncapture_timeout = -1.0\n", 2, "camera.capture_timeout"),
    ("[center]\nconnect_timeout_s = 0.0\n", 2, "center.connect_timeout_s"),
    ("[outbox]\nlease_s = 59.0\n", 2, "outbox"),  # below the 60 s upload timeout
    ("[session.limits]\nretakes = -1\n", 2, "session.limits.retakes"),
    ("[center]\nurl = \"ftp://x y\"\n", 2, "center.url"),
    ("[ui.gesture]\ncorner = \"middle\"\n", 2, "ui.gesture.corner"),
    ("[photo]\nspec = \"../../etc/passwd\"\n", 2, "photo.spec"),
    ("[center_server.identify]\ncode_max_failures = 0\n", 2, "center_server.identify.code_max_failures"),
    ("[center_server]\nport = 70000\n", 2, "center_server.port"),
    ("[ui.preview]\nfps = nan\n", 2, "ui.preview.fps"),
    ("[camera.opencv]\nfps = inf\n", 2, "camera.opencv.fps"),
    ("[ui]\nwidth = 0\nheight = -800\n", 2, "ui.width"),
    ("[operator]\npin_hash = \"2468\"\n", 2, "operator.pin_hash"),
    ("[center_server.upload]\nmax_bytes = -1\n", 2, "center_server.upload.max_bytes"),
    ("[scanner]\ndecoder = \"zbar\"\n", 2, "scanner.decoder"),
    ("[logging]\nlevel = \"LOUD\"\n", 2, "logging.level"),
]


@pytest.mark.parametrize(("body", "line", "key"), BAD, ids=[b[2] + ":" + b[0].split("=")[-1].strip() for b in BAD])
def test_check_refuses_a_bad_value(tmp_path: Path, capsys: pytest.CaptureFixture, body, line, key):
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(body, encoding="utf-8")
    assert main(["config", "check", str(cfg)]) == 3
    err = capsys.readouterr().err
    assert f"{cfg}:{line}:" in err and key in err, err


def test_good_values_in_range_pass(tmp_path: Path, capsys: pytest.CaptureFixture):
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text("[ui.capture]\ncountdown = 0\n[outbox]\nlease_s = 300\njitter = 0\n"
                   "[center]\nurl = \"https://center.example.edu.cn:8443/api\"\n", encoding="utf-8")
    assert main(["config", "check", str(cfg)]) == 0, capsys.readouterr().err


def test_schema_and_defaults_name_the_same_keys():
    """A key added to config/defaults without a type (or the other way round) fails here."""
    defaults = load_defaults()

    def keys(model, data, prefix=""):
        fields = set(model.model_fields)
        assert fields == set(data), f"{prefix or 'top'}: schema {sorted(fields ^ set(data))}"
        for name, field in model.model_fields.items():
            sub = field.annotation
            if isinstance(sub, type) and issubclass(sub, KioskSettings.__mro__[1]):
                keys(sub, data[name], f"{prefix}{name}.")

    keys(KioskSettings, defaults)


def test_worker_refuses_to_start_on_a_bad_value(tmp_path: Path):
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text("[outbox]\nbackoff_max_s = nan\n", encoding="utf-8")
    env = dict(os.environ, KIOSK_CONFIG=str(cfg))
    proc = subprocess.run([sys.executable, "-m", "kiosk", "worker"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert f"{cfg}:2:" in proc.stderr and "outbox.backoff_max_s" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_camera_backends_are_the_drivers_own():
    import typing

    from hardware.cameras import BACKENDS
    from kiosk.settings_schema import CameraBackend

    assert set(typing.get_args(CameraBackend)) == set(BACKENDS)
