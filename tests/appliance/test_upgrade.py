"""upgrade.sh: a healthy release becomes current; a broken one is rolled back."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .conftest import install_args, run_script, version_of


@pytest.fixture()
def booth(tmp_path: Path, frozen_source: Path) -> Path:
    root = tmp_path / "root"
    run_script("install.sh", *install_args(root, frozen_source), source=frozen_source)
    return root


def _current(root: Path) -> str:
    return os.readlink(root / "opt/kiosk/current")


def test_upgrade_switches_and_keeps_the_previous_release(booth: Path, frozen_source: Path):
    old = version_of(frozen_source)
    unit_before = (booth / "etc/systemd/system/kiosk-ui.service").read_text()
    proc = run_script("upgrade.sh", *install_args(booth, frozen_source)[:2], "--source",
                      str(frozen_source), "--version", "9.1.0", "--python",
                      install_args(booth, frozen_source)[5], "--deps-venv",
                      install_args(booth, frozen_source)[7], source=frozen_source, check=False)
    assert proc.returncode == 0, proc.stderr
    assert _current(booth) == "releases/9.1.0"
    assert os.readlink(booth / "opt/kiosk/previous") == f"releases/{old}"
    assert (booth / "etc/systemd/system/kiosk-ui.service").read_text() == unit_before

    # And back by hand.
    run_script("upgrade.sh", "--root", str(booth), "--rollback", source=frozen_source)
    assert _current(booth) == f"releases/{old}"
    assert os.readlink(booth / "opt/kiosk/previous") == "releases/9.1.0"


def test_release_failing_its_health_check_is_rolled_back(booth: Path, frozen_source: Path,
                                                         tmp_path: Path):
    old = version_of(frozen_source)
    broken = tmp_path / "broken-src"
    shutil.copytree(frozen_source, broken, symlinks=True)
    # A release whose upload queue does not even import.
    with (broken / "kiosk/link/outbox.py").open("a") as fh:
        fh.write("\ndef broken(:\n")
    config_before = (booth / "etc/kiosk/kiosk.toml").read_text()
    args = install_args(booth, frozen_source)
    proc = run_script("upgrade.sh", "--root", str(booth), "--source", str(broken),
                      "--version", "9.2.0", *args[4:], source=broken, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "failed its health check" in proc.stderr and "kiosk.link.outbox" in proc.stdout
    assert _current(booth) == f"releases/{old}"
    releases = sorted(p.name for p in (booth / "opt/kiosk/releases").iterdir())
    assert old in releases and "9.2.0" not in releases
    assert any(r.startswith("9.2.0.failed-") for r in releases)
    assert (booth / "etc/kiosk/kiosk.toml").read_text() == config_before
    # The booth still runs the old release's code.
    ok = run_script("install.sh", "--root", str(booth), "--system-only", *args[4:],
                    source=booth / "opt/kiosk/current/app")
    assert ok.returncode == 0
