"""The hardware commands: camera list/capture, scan, print (against the private cupsd)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import segno
from PIL import Image

from hardware.printing.private_cups import PrivateCups
from kiosk.cli import main


def test_camera_capture_simulated(tmp_path: Path, sample_clip: Path, monkeypatch, capsys) -> None:
    conf = tmp_path / "kiosk.toml"
    conf.write_text(f'[camera.simulated]\nsource = "{sample_clip}"\n', encoding="utf-8")
    monkeypatch.setenv("KIOSK_CONFIG", str(conf))
    assert main(["camera", "capture", "-o", str(tmp_path / "still.jpg")]) == 0
    with Image.open(tmp_path / "still.jpg") as im:
        assert im.format == "JPEG" and min(im.size) >= 500  # the full-resolution portrait
    assert "from simulated" in capsys.readouterr().out


def test_camera_list_shows_the_virtual_dslr(vcamera: Path, capsys) -> None:
    assert main(["camera", "list", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["configured"] == "simulated"
    assert out["gphoto2"][0]["model"] == "Nikon DSC D750"
    assert out["gphoto2"][0]["model_file"] == "nikon-dslr.toml"


def test_camera_capture_gphoto2_and_a_missing_camera(vcamera: Path, tmp_path: Path, capsys):
    assert main(["camera", "capture", "--backend", "gphoto2", "-o", str(tmp_path / "d.jpg")]) == 0
    assert (tmp_path / "d.jpg").read_bytes() == (vcamera / "a.jpg").read_bytes()
    import shutil

    shutil.rmtree(vcamera)
    assert main(["camera", "capture", "--backend", "gphoto2", "-o", str(tmp_path / "e.jpg")]) == 3
    assert "camera" in capsys.readouterr().err.lower()
    assert not (tmp_path / "e.jpg").exists()


def test_scan_prints_kinds_and_never_the_code(tmp_path: Path, capsys) -> None:
    segno.make_qr("DEMO2026GD000001").save(str(tmp_path / "code.png"), scale=6)
    segno.make_qr("wxp://f2f0abcdefg").save(str(tmp_path / "pay.png"), scale=6)
    Image.new("RGB", (200, 200), "white").save(tmp_path / "blank.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG broken")
    assert main(["scan", str(tmp_path / "code.png")]) == 0
    assert main(["scan", "--decoder", "pyzbar", str(tmp_path / "code.png")]) == 0
    assert main(["scan", str(tmp_path / "pay.png")]) == 3
    assert main(["scan", str(tmp_path / "blank.png")]) == 2
    assert main(["scan", str(tmp_path / "broken.png")]) == 2
    out = capsys.readouterr().out
    assert "collection_code c:" in out and "DEMO2026GD000001" not in out
    assert "payment_code" in out and "no QR code found" in out and "unreadable" in out


@pytest.fixture()
def cups_conf(tmp_path: Path, monkeypatch):
    with PrivateCups(tmp_path / "cups") as server:
        server.add_printer("booth")
        conf = tmp_path / "kiosk.toml"
        conf.write_text(f'[printer]\nqueue = "booth"\nserver = "{server.server}"\n'
                        "poll_interval = 0.05\n", encoding="utf-8")
        monkeypatch.setenv("KIOSK_CONFIG", str(conf))
        yield server


def test_print_waits_and_fails_with_the_printers_reason(cups_conf, tmp_path, capsys) -> None:
    doc = tmp_path / "sheet.jpg"
    Image.new("RGB", (1800, 1200), "white").save(doc, dpi=(300, 300))
    assert main(["print", str(doc), "--key", "A1"]) == 0
    assert "printed" in capsys.readouterr().out
    cups_conf.set_fault("booth", "paper")
    assert main(["print", str(doc), "--key", "A2"]) == 3
    err = capsys.readouterr().err
    assert "Out of paper" in err and "加纸" in err and "kiosk print --resume" in err
    assert main(["print", "--status"]) == 3
    cups_conf.set_fault("booth", "")
    assert main(["print", "--resume"]) == 0
    assert main(["print", str(doc), "--key", "A2"]) == 0  # the queued job, not a second one
    assert len(cups_conf.jobs_printed("booth")) == 2
