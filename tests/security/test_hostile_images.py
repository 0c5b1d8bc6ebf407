"""Hostile inputs to `kiosk photo make|check` and the pipeline (issue 10, section 6).

Each test feeds the real CLI (a subprocess, as an operator or a script would
run it) or the pipeline the kiosk and the center share with the file an
attacker would: a truncated JPEG closed with an end marker, a symlink to
/dev/zero or /dev/urandom, a FIFO, an oversized file, a progressive JPEG of
thousands of scans. The child runs under an address-space limit, so a
regression fails the test instead of eating the machine.
"""

from __future__ import annotations

import io
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kiosk.cli import EXIT_NONCOMPLIANT, EXIT_UNREADABLE
from kiosk.photo.check import check_jpeg
from kiosk.photo.imageio import Limits, UnreadableImage, open_source
from kiosk.photo.pipeline import make_photo

ROOT = Path(__file__).resolve().parents[2]
MEMORY_CAP = 6 << 30  # bytes of address space for the child (mediapipe maps ~2 GB)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def kiosk(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          preexec_fn=_limit_memory)


def truncated_with_end_marker(data: bytes, keep: float = 0.6) -> bytes:
    """What a cut-off download "repaired" by appending FFD9 looks like."""
    return data[: int(len(data) * keep)] + b"\xff\xd9"


def many_scans(extra: int, size: tuple[int, int] = (3000, 2000)) -> bytes:
    """A valid progressive JPEG whose last scan is repeated ``extra`` times (17 bytes each)."""
    buf = io.BytesIO()
    Image.new("RGB", size, (120, 90, 60)).save(buf, "JPEG", progressive=True, quality=80)
    data = buf.getvalue()
    starts = [m.start() for m in re.finditer(b"\xff\xda", data)]
    last = data[starts[-1] : len(data) - 2]
    return data[:-2] + last * extra + b"\xff\xd9"


@pytest.fixture(scope="module")
def portrait(portraits: Path) -> bytes:
    return (portraits / "asian_girl_indoor.jpg").read_bytes()


@pytest.mark.parametrize("command", ["make", "check"])
def test_truncated_jpeg_with_end_marker_is_unreadable(command, portrait, tmp_path):
    """It used to become a "compliant" photo whose lower 45 % was flat grey."""
    bad = tmp_path / "cut.jpg"
    bad.write_bytes(truncated_with_end_marker(portrait))
    out = tmp_path / "out.jpg"
    args = ["photo", command, bad] + (["-o", out] if command == "make" else [])
    done = kiosk(*args)
    assert done.returncode == EXIT_UNREADABLE, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "不完整" in done.stdout and "premature end" in done.stdout
    assert not out.exists()


def test_pipeline_refuses_the_truncated_file_the_kiosk_and_center_would_decode(portrait):
    for keep in (0.3, 0.6, 0.9):
        with pytest.raises(UnreadableImage) as err:
            make_photo(truncated_with_end_marker(portrait, keep))
        assert "premature end" in err.value.detail
        with pytest.raises(UnreadableImage):
            check_jpeg(truncated_with_end_marker(portrait, keep))


def test_a_flat_grey_slab_where_the_clothes_must_be_fails_the_check(portrait, tmp_path):
    """The artefact itself, as a valid file: the check fails it (exit 1), whatever decoded it."""
    good = make_photo(portrait)
    assert good.report.get("flat_region").verdict == "pass"
    rgb = np.asarray(Image.open(io.BytesIO(good.jpeg))).copy()
    rgb[int(rgb.shape[0] * 0.55) :] = 128  # the lower 45 %, as the damaged file gave it
    slab = tmp_path / "slab.jpg"
    Image.fromarray(rgb).save(slab, "JPEG", quality=90, dpi=(300, 300))
    report = check_jpeg(slab.read_bytes())
    item = report.get("flat_region")
    assert not report.ok and item.verdict == "fail" and item.reason == "body"
    assert item.value > 0.5 and "重新拍摄" in item.zh
    done = kiosk("photo", "check", slab, "--json")
    assert done.returncode == EXIT_NONCOMPLIANT, done.stdout + done.stderr
    assert '"flat_region"' in done.stdout


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom"])
@pytest.mark.parametrize("command", ["make", "check"])
def test_symlink_to_an_endless_device_is_refused_without_reading(command, target, tmp_path):
    link = tmp_path / "photo.jpg"
    link.symlink_to(target)
    out = tmp_path / "out.jpg"
    t0 = time.monotonic()
    done = kiosk("photo", command, link, *(["-o", out] if command == "make" else []))
    assert done.returncode == EXIT_UNREADABLE, done.stdout + done.stderr[-2000:]
    assert "character device" in done.stdout and "照片文件" in done.stdout
    assert time.monotonic() - t0 < 60 and not out.exists()


@pytest.mark.parametrize("command", ["make", "check"])
def test_fifo_does_not_hang(command, tmp_path):
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    done = kiosk("photo", command, fifo, *(["-o", tmp_path / "o.jpg"] if command == "make"
                                            else []), timeout=60)
    assert done.returncode == EXIT_UNREADABLE, done.stdout + done.stderr
    assert "FIFO" in done.stdout


def test_oversized_file_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "huge.jpg"
    with big.open("wb") as fh:  # sparse: a JPEG header, then 150 MiB of nothing
        fh.write(b"\xff\xd8\xff\xe0")
        fh.truncate(150 << 20)
    done = kiosk("photo", "check", big)
    assert done.returncode == EXIT_UNREADABLE, done.stdout + done.stderr
    assert "limit 100 MiB" in done.stdout and "过大" in done.stdout
    with pytest.raises(UnreadableImage, match="limit 1 MiB"):
        open_source(big.read_bytes()[: 2 << 20], Limits(max_file_mb=1))


def test_progressive_jpeg_of_thousands_of_scans_is_refused_at_once(tmp_path):
    """2,000 repeated scans: an 87 KB file Pillow takes ~20 s to decode."""
    bomb = tmp_path / "scans.jpg"
    bomb.write_bytes(many_scans(2000))
    t0 = time.monotonic()
    done = kiosk("photo", "make", bomb, "-o", tmp_path / "o.jpg")
    assert done.returncode == EXIT_UNREADABLE, done.stdout + done.stderr
    assert "2010 scans, limit 100" in done.stdout
    assert time.monotonic() - t0 < 15  # the whole CLI, model loading included


def test_decoding_is_given_up_after_the_time_box():
    slow = many_scans(200)  # ~3 s to decode here, allowed by a generous scan limit
    src = open_source(slow, Limits(max_jpeg_scans=10_000, decode_timeout_s=0.3))
    t0 = time.monotonic()
    with pytest.raises(UnreadableImage, match="longer than 0.3 s") as err:
        src.decode(1.0)
    assert time.monotonic() - t0 < 1.5
    assert err.value.zh and "规定时间" in err.value.zh
