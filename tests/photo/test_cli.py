"""``kiosk photo``: exit codes, JSON, and no file left behind on failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.cli import EXIT_NONCOMPLIANT, EXIT_OK, EXIT_UNREADABLE, main


def test_make_writes_a_compliant_photo(portraits: Path, tmp_path: Path, capsys) -> None:
    out, master = tmp_path / "out.jpg", tmp_path / "master.png"
    code = main(
        [
            "photo",
            "make",
            str(portraits / "asian_girl_indoor.jpg"),
            "-o",
            str(out),
            "--master",
            str(master),
            "--json",
        ]
    )
    assert code == EXIT_OK
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] and payload["report"]["ok"] and payload["bytes"] == out.stat().st_size
    assert master.exists()
    assert main(["photo", "check", str(out)]) == EXIT_OK
    assert "COMPLIANT" in capsys.readouterr().out


def test_refused_input_exits_1_with_report_and_no_file(
    portraits: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "out.jpg"
    code = main(["photo", "make", str(portraits / "two_faces_event.jpg"), "-o", str(out), "--json"])
    assert code == EXIT_NONCOMPLIANT and not out.exists()
    payload = json.loads(capsys.readouterr().out)
    assert payload["error"]["code"] == "single_face" and payload["report"]["failed"] == [
        "single_face"
    ]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", [b"not an image at all", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"])
def test_unreadable_input_exits_2_and_no_file(content: bytes, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(content)
    out = tmp_path / "out.jpg"
    assert main(["photo", "make", str(bad), "-o", str(out)]) == EXIT_UNREADABLE
    assert not out.exists()
    assert main(["photo", "check", str(bad), "--json"]) == EXIT_UNREADABLE
    text = capsys.readouterr()
    assert "Traceback" not in text.out + text.err
    assert main(["photo", "check", str(tmp_path / "missing.jpg")]) == EXIT_UNREADABLE


def test_check_of_a_raw_capture_exits_1(portraits: Path, capsys) -> None:
    assert (
        main(["photo", "check", str(portraits / "man_beard_grey.jpg"), "--json"])
        == EXIT_NONCOMPLIANT
    )
    payload = json.loads(capsys.readouterr().out)
    assert "dimensions" in payload["report"]["failed"]


def test_truncated_jpeg_through_the_real_command(portraits: Path, tmp_path: Path) -> None:
    data = (portraits / "asian_girl_indoor.jpg").read_bytes()
    bad = tmp_path / "cut.jpg"
    bad.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out.jpg"
    env = os.environ | {"KIOSK_CONFIG": "/nonexistent/kiosk.toml"}
    proc = subprocess.run([sys.executable, "-m", "kiosk", "photo", "make", str(bad), "-o", str(out)],
                          capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert proc.returncode == EXIT_UNREADABLE, proc.stderr
    assert "Traceback" not in proc.stderr and "unreadable" in proc.stdout
    assert not out.exists()


def test_samples_writes_photos_prints_and_a_report(portraits: Path, tmp_path: Path, capsys) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for name in ("asian_girl_indoor.jpg", "two_faces_event.jpg"):
        (src / name).write_bytes((portraits / name).read_bytes())
    out = tmp_path / "out"
    # One portrait refused: the command says so by its exit code.
    assert main(["photo", "samples", "-o", str(out), "--portraits", str(src)]) == EXIT_NONCOMPLIANT
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    rows = {r["input"]: r for r in report["photos"]}
    assert rows["asian_girl_indoor.jpg"]["ok"] and (out / "asian_girl_indoor.jpg").exists()
    assert (out / "asian_girl_indoor_1寸.jpg").exists() and (
        out / "asian_girl_indoor_master.png"
    ).exists()
    assert (
        not rows["two_faces_event.jpg"]["ok"]
        and rows["two_faces_event.jpg"]["reason"] == "single_face"
    )
    assert not (out / "two_faces_event.jpg").exists()
    assert "REFUSED single_face" in (out / "report.txt").read_text(encoding="utf-8")


def test_small_readable_image_exits_1_too_small(portraits: Path, tmp_path: Path, capsys) -> None:
    from PIL import Image

    small = tmp_path / "small.jpg"
    with Image.open(portraits / "asian_girl_indoor.jpg") as im:
        im.convert("RGB").resize((180, 235)).save(small, "JPEG", quality=90)
    out = tmp_path / "out.jpg"
    code = main(["photo", "make", str(small), "-o", str(out), "--json"])
    assert code == EXIT_NONCOMPLIANT and not out.exists()
    payload = json.loads(capsys.readouterr().out)
    assert payload["error"]["code"] == "image_size" and "too small" in payload["error"]["en"]
    assert main(["photo", "check", str(small)]) == EXIT_NONCOMPLIANT
