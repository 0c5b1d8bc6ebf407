"""install.sh into a scratch root: the tree a booth gets, idempotence, units that verify."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from kiosk.cli.config import render_defaults

from .conftest import install_args, provide_base_system, run_script, version_of

UNITS = ("kiosk-ui.service", "kiosk-worker.service", "kiosk-center.service",
         "kiosk-firstboot.service", "kiosk-center-worker.service", "kiosk-center-purge.service",
         "kiosk-center-purge.timer")


def _ids(root: Path, db: str, name: str) -> int:
    for line in (root / "etc" / db).read_text().splitlines():
        parts = line.split(":")
        if parts[0] == name:
            return int(parts[2])
    raise AssertionError(f"{name} not in {db}")


def _owner_mode(path: Path) -> tuple[int, int, int]:
    st = path.lstat()
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


def test_tree_files_owners_and_modes(installed_root: Path, frozen_source: Path):
    root = installed_root
    version = version_of(frozen_source)
    assert os.readlink(root / "opt/kiosk/current") == f"releases/{version}"
    rel = root / "opt/kiosk/releases" / version
    assert (rel / "app/kiosk/cli/__init__.py").is_file()
    assert f"version={version}" in (rel / "RELEASE").read_text()
    assert _owner_mode(rel / "venv/bin/kiosk") == (0, 0, 0o755)
    assert _owner_mode(rel / "app/kiosk/settings.py")[::2] == (0, 0o644)  # code is root's

    for unit in UNITS:
        assert _owner_mode(root / "etc/systemd/system" / unit) == (0, 0, 0o644)
    wants = root / "etc/systemd/system/multi-user.target.wants"
    assert sorted(p.name for p in wants.iterdir()) == [
        "kiosk-firstboot.service", "kiosk-ui.service", "kiosk-worker.service"]
    assert os.readlink(wants / "kiosk-ui.service") == "/etc/systemd/system/kiosk-ui.service"
    assert os.readlink(root / "etc/systemd/user/gvfs-gphoto2-volume-monitor.service") == "/dev/null"
    assert os.readlink(root / "usr/local/bin/kiosk") == "/opt/kiosk/current/venv/bin/kiosk"

    # The token: root only, never in the main config.
    assert _owner_mode(root / "etc/kiosk/device-token") == (0, 0, 0o600)
    config = root / "etc/kiosk/kiosk.toml"
    assert _owner_mode(config) == (0, 0, 0o644)
    text = config.read_text()
    assert text == render_defaults(rel / "app/config/defaults")
    assert "token_file" in text and "device-token" in text

    kiosk_uid, kiosk_gid = _ids(root, "passwd", "kiosk"), _ids(root, "group", "kiosk")
    for d in ("var/lib/kiosk", "var/cache/kiosk"):
        assert _owner_mode(root / d) == (kiosk_uid, kiosk_gid, 0o750)
    # The center's secrets: apart from its data, the service's user only (issue 10 §4).
    secrets = root / "etc/kiosk/center-secrets"
    assert _owner_mode(secrets) == (kiosk_uid, kiosk_gid, 0o700)
    names = sorted(p.name for p in secrets.iterdir())
    assert names == ["console_session.key", "context_signing_key.ed25519", "download_link.key"]
    for p in secrets.iterdir():
        assert _owner_mode(p) == (kiosk_uid, kiosk_gid, 0o600) and p.stat().st_size == 32
    dropin = (root / "etc/kiosk/kiosk.toml.d/10-center-secrets.toml").read_text()
    assert 'secrets_dir = "/etc/kiosk/center-secrets"' in dropin
    members = {g.split(":")[0]: g.split(":")[3] for g in (root / "etc/group").read_text().split()}
    for group in ("video", "plugdev", "input", "render", "audio", "lp"):
        assert "kiosk" in members[group].split(","), group

    rules = (root / "etc/udev/rules.d/70-kiosk-devices.rules").read_text()
    assert 'ENV{ID_USB_INTERFACES}=="*:060101:*"' in rules and 'GROUP="kiosk"' in rules
    assert 'ENV{ID_VENDOR_ID}=="0c2e", GOTO="kiosk_scanner_match"' in rules
    assert "Storage=persistent" in (root / "etc/systemd/journald.conf.d/kiosk.conf").read_text()

    # The installed release runs and checks the installed config.
    out = subprocess.run([str(rel / "venv/bin/python"), "-m", "kiosk", "config", "check", str(config)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def _snapshot(root: Path) -> dict[str, tuple]:
    snap = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        rel = os.path.relpath(dirpath, root)
        if rel.startswith("usr/lib/systemd") or rel.startswith("root"):
            continue
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            extra = os.readlink(p) if p.is_symlink() else (
                p.read_bytes() if p.is_file() and st.st_size < 1_000_000 else st.st_size)
            snap[str(p.relative_to(root))] = (st.st_uid, st.st_gid, st.st_mode, extra)
    return snap


def test_second_run_changes_nothing_and_keeps_booth_edits(tmp_path: Path, frozen_source: Path):
    root = tmp_path / "root"
    run_script("install.sh", *install_args(root, frozen_source), source=frozen_source)
    config = root / "etc/kiosk/kiosk.toml"
    config.write_text("[doctor]\ntimeout = 5.0\n")
    (root / "etc/kiosk/device-token").write_text("tok-provisioned-123\n")
    before = _snapshot(root)
    proc = run_script("install.sh", *install_args(root, frozen_source), source=frozen_source)
    assert "already in place" in proc.stderr
    assert _snapshot(root) == before
    assert config.read_text() == "[doctor]\ntimeout = 5.0\n"


def test_every_unit_passes_systemd_analyze_verify(installed_root: Path):
    provide_base_system(installed_root)
    for unit in UNITS:
        out = subprocess.run(["systemd-analyze", "verify", f"--root={installed_root}", unit],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and not out.stdout.strip() and not out.stderr.strip(), (
            unit, out.stdout, out.stderr)


def test_verify_catches_a_missing_release(tmp_path: Path, installed_root: Path):
    """The check is real: without the release the ExecStart binary is reported."""
    root = tmp_path / "broken"
    shutil.copytree(installed_root / "etc", root / "etc", symlinks=True)
    provide_base_system(root)
    out = subprocess.run(["systemd-analyze", "verify", f"--root={root}", "kiosk-worker.service"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "/opt/kiosk/current/venv/bin/kiosk" in out.stderr


def test_scanner_vendors_come_from_config_and_bad_ones_stop_the_install(
        tmp_path: Path, frozen_source: Path):
    root = tmp_path / "root"
    (root / "etc/kiosk").mkdir(parents=True)
    cfg = root / "etc/kiosk/kiosk.toml"
    cfg.write_text('[appliance.udev]\nscanner_vendors = ["1A2b"]\nextra_cameras = ["04a9:32d1"]\n')
    run_script("install.sh", *install_args(root, frozen_source), source=frozen_source)
    rules = (root / "etc/udev/rules.d/70-kiosk-devices.rules").read_text()
    assert 'ENV{ID_VENDOR_ID}=="1a2b"' in rules and "0c2e" not in rules
    assert 'ATTR{idVendor}=="04a9", ATTR{idProduct}=="32d1", GOTO="kiosk_camera"' in rules

    cfg.write_text('[appliance.udev]\nscanner_vendors = ["zebra"]\n')
    proc = run_script("install.sh", *install_args(root, frozen_source), source=frozen_source,
                      check=False)
    assert proc.returncode != 0
    assert "appliance.udev.scanner_vendors" in proc.stderr and "zebra" in proc.stderr


def test_uninstall_keeps_config_and_state_unless_purged(tmp_path: Path, frozen_source: Path):
    root = tmp_path / "root"
    run_script("install.sh", *install_args(root, frozen_source), source=frozen_source)
    (root / "etc/kiosk/device-token").write_text("tok-keep-me-42\n")
    run_script("uninstall.sh", "--root", str(root), source=frozen_source)
    assert not (root / "opt/kiosk").exists()
    for unit in UNITS:
        assert not (root / "etc/systemd/system" / unit).exists()
    assert not list((root / "etc/systemd/system/multi-user.target.wants").iterdir())
    assert not (root / "etc/udev/rules.d/70-kiosk-devices.rules").exists()
    assert not (root / "etc/systemd/user/gvfs-gphoto2-volume-monitor.service").exists()
    assert not (root / "usr/local/bin/kiosk").exists()
    assert (root / "etc/kiosk/device-token").read_text() == "tok-keep-me-42\n"
    assert (root / "var/lib/kiosk").is_dir()

    # Photos still waiting for upload stop a purge unless forced.
    (root / "var/lib/kiosk/outbox/photos").mkdir(parents=True)
    (root / "var/lib/kiosk/outbox/photos/1.jpg").write_bytes(b"\xff\xd8")
    proc = run_script("uninstall.sh", "--root", str(root), "--purge", source=frozen_source,
                      check=False)
    assert proc.returncode != 0 and "wait for upload" in proc.stderr
    run_script("uninstall.sh", "--root", str(root), "--purge", "--force", source=frozen_source)
    assert not (root / "etc/kiosk").exists() and not (root / "var/lib/kiosk").exists()


@pytest.mark.parametrize("flag", ["--root"])
def test_install_refuses_unknown_options(tmp_path: Path, flag: str):
    proc = run_script("install.sh", flag, str(tmp_path), "--frobnicate", check=False)
    assert proc.returncode != 0 and "unknown option --frobnicate" in proc.stderr
