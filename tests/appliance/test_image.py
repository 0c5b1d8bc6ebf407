"""The image's root tree, and first-boot provisioning run against a scratch root."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import VENV, provide_base_system, run_script

TOKEN = "tok_Q2w3E4r5T6y7U8i9O0p"


@pytest.fixture(scope="module")
def image_root(tmp_path_factory: pytest.TempPathFactory, frozen_source: Path) -> Path:
    out = tmp_path_factory.mktemp("image")
    run_script("build-image.sh", "--out", str(out), "--no-base", "--python", sys.executable,
               "--deps-venv", str(VENV), source=frozen_source)
    return out / "rootfs"


def test_root_tree_layout(image_root: Path):
    r = image_root
    assert os.readlink(r / "etc/systemd/system/getty@tty1.service") == "/dev/null"
    assert os.readlink(r / "etc/systemd/system/default.target").endswith("multi-user.target")
    assert "consoleblank=0" in (r / "etc/kernel/cmdline").read_text()
    assert (r / "boot/firmware/kiosk-provision.toml.example").is_file()
    wants = {p.name for p in (r / "etc/systemd/system/multi-user.target.wants").iterdir()}
    assert {"kiosk-ui.service", "kiosk-worker.service", "kiosk-firstboot.service"} <= wants
    assert (r / "opt/kiosk/current/venv/bin/kiosk").is_file()
    assert "kiosk_version=" in (r / "etc/kiosk-image-release").read_text()
    provide_base_system(r)
    out = subprocess.run(["systemd-analyze", "verify", f"--root={r}", "kiosk-firstboot.service"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and not out.stderr.strip(), out.stderr


def _provision(root: Path, text: str) -> subprocess.CompletedProcess:
    boot = root / "boot/firmware/kiosk-provision.toml"
    boot.write_text(text, encoding="utf-8")
    py = root / "opt/kiosk/current/venv/bin/python"
    script = root / "opt/kiosk/current/app/scripts/provision.py"
    return subprocess.run([str(py), str(script), "--root", str(root), "--boot"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONSAFEPATH": "1"})


GOOD = f"""
center_url = "https://center.example.edu.cn/"
device_token = "{TOKEN}"
hostname = "booth-07"
[region]
id = "R-GZ-01"
name = "广州校区"
"""


def test_first_boot_provisioning(image_root: Path):
    r = image_root
    proc = _provision(r, GOOD)
    assert proc.returncode == 0, proc.stderr
    assert not (r / "boot/firmware/kiosk-provision.toml").exists()  # the token is gone from FAT
    token = r / "etc/kiosk/device-token"
    assert token.read_text().strip() == TOKEN
    st = token.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o600)
    drop_in = (r / "etc/kiosk/kiosk.toml.d/50-provision.toml").read_text()
    assert TOKEN not in drop_in and TOKEN not in (r / "etc/kiosk/kiosk.toml").read_text()
    assert 'url = "https://center.example.edu.cn"' in drop_in
    assert 'context_kind = "region"' in drop_in and 'feature_required = false' in drop_in
    assert (r / "etc/hostname").read_text() == "booth-07\n"
    check = subprocess.run([str(r / "opt/kiosk/current/venv/bin/python"), "-m", "kiosk", "config",
                            "check", str(r / "etc/kiosk/kiosk.toml")],
                           capture_output=True, text=True, timeout=60,
                           env={**os.environ, "PYTHONSAFEPATH": "1"})
    assert check.returncode == 0 and "50-provision.toml" in check.stdout, check.stderr


@pytest.mark.parametrize(("text", "says"), [
    (f'center_url = "http://center.example.edu.cn"\ndevice_token = "{TOKEN}"\n', "https"),
    ('center_url = "https://center.example.edu.cn"\n', "device_token"),
    (f'center_url = "https://c.example"\ndevice_token = "{TOKEN}"\ncentre = 1\n', "centre"),
    (f'center_url = "https://c.example"\ndevice_token = "{TOKEN}"\n[batch]\nname = "x"\n', "[batch]"),
])
def test_bad_provisioning_changes_nothing(tmp_path: Path, frozen_source: Path, text: str,
                                          says: str):
    root = tmp_path / "root"
    run_script("build-image.sh", "--out", str(tmp_path), "--no-base", "--python", sys.executable,
               "--deps-venv", str(VENV), source=frozen_source)
    root = tmp_path / "rootfs"
    proc = _provision(root, text)
    assert proc.returncode == 3 and says in proc.stderr, proc.stderr
    assert (root / "boot/firmware/kiosk-provision.toml.failed").exists()
    assert (root / "etc/kiosk/device-token").read_text() == ""
    assert not (root / "etc/kiosk/kiosk.toml.d/50-provision.toml").exists()


@pytest.mark.skipif(os.environ.get("KIOSK_TEST_IMAGE") != "1",
                    reason="debootstrap needs the Debian mirror: set KIOSK_TEST_IMAGE=1")
def test_debootstrap_image_builds(tmp_path: Path):
    from .conftest import REPO

    run_script("build-image.sh", "--out", str(tmp_path), source=REPO)
    r = tmp_path / "rootfs"
    assert (r / "usr/bin/python3").exists()
    assert (r / "opt/kiosk/current/venv/bin/kiosk").is_file()
    out = subprocess.run(["chroot", str(r), "/opt/kiosk/current/venv/bin/kiosk", "doctor",
                          "--smoke"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
