"""Scratch roots for the appliance tests: the install scripts run into temp dirs, never the host."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent
APP_ITEMS = ("kiosk", "hardware", "center", "durable", "config", "scripts", "systemd", "image", "docs",
             "requirements", "pyproject.toml", "README.md")


def freeze_source(dest: Path) -> Path:
    """A copy of the source tree: other work in the repo must not change it mid-test."""
    dest.mkdir(parents=True)
    for item in APP_ITEMS:
        if (REPO / item).exists():
            with tarfile.open(dest / ".t.tar", "w") as tar:
                tar.add(REPO / item, arcname=item,
                        filter=lambda ti: None if "__pycache__" in ti.name else ti)
            with tarfile.open(dest / ".t.tar") as tar:
                tar.extractall(dest, filter="tar")
    (dest / ".t.tar").unlink()
    return dest


def run_script(name: str, *args: str, source: Path = REPO, check: bool = True,
               env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(["bash", str(source / "scripts" / name), *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"{name} {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def install_args(root: Path, source: Path) -> list[str]:
    return ["--root", str(root), "--source", str(source), "--python", sys.executable,
            "--deps-venv", str(VENV)]


def provide_base_system(root: Path) -> None:
    """What the target's Debian base holds and our install does not: systemd's own
    units and the Python interpreter the release's venv links to."""
    units = root / "usr/lib/systemd/system"
    if not units.exists():
        shutil.copytree("/usr/lib/systemd/system", units, symlinks=True)
    real = Path(os.path.realpath(sys.executable))
    target = root / str(real).lstrip("/")
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(real, target)  # a symlink would point back into the host


@pytest.fixture(scope="session")
def frozen_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return freeze_source(tmp_path_factory.mktemp("src") / "kiosk")


@pytest.fixture(scope="session")
def installed_root(tmp_path_factory: pytest.TempPathFactory, frozen_source: Path) -> Path:
    root = tmp_path_factory.mktemp("root")
    run_script("install.sh", *install_args(root, frozen_source), source=frozen_source)
    return root


def version_of(source: Path) -> str:
    for line in (source / "pyproject.toml").read_text().splitlines():
        if line.startswith("version"):
            return line.split("=")[1].strip().strip('"')
    raise AssertionError("no version")
