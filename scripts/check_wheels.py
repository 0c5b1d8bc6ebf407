"""Check that every pin has a binary wheel for a Raspberry Pi (aarch64, Python 3.11).

A booth is installed on a Pi from the same requirements/*.txt as this machine.
A pin with no aarch64 wheel is met there first, as a source build that needs a
compiler the booth may not have. The markers in the files are evaluated for
aarch64 (not for this machine), and pip resolves each pin against the index
with --only-binary, reading wheel metadata only (nothing is installed).

Pins that are known to ship only a source archive are listed in
scripts/source-only-pins.txt with the reason they still install on a Pi.

Usage: python scripts/check_wheels.py [requirements/base.txt ...]
Exit 0 when every pin resolves, 1 (naming the pins) when some do not, 3 when
the index cannot be reached.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
FILES = ("base.txt", "hardware.txt", "center.txt", "ui.txt")
AARCH64 = {
    "platform_machine": "aarch64", "sys_platform": "linux", "os_name": "posix",
    "platform_system": "Linux", "python_version": "3.11", "python_full_version": "3.11.2",
    "implementation_name": "cpython", "platform_python_implementation": "CPython",
}
PLATFORMS = ("manylinux_2_17_aarch64", "manylinux_2_28_aarch64", "manylinux_2_31_aarch64",
             "manylinux_2_34_aarch64", "linux_aarch64")


def pins(paths: list[Path]) -> list[str]:
    out = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith("-"):
                continue
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate(AARCH64):
                req.marker = None
                out.append(str(req))
    return out


def source_only() -> set[str]:
    path = ROOT / "scripts" / "source-only-pins.txt"
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(Requirement(line).name.lower())
    return names


def resolves(pin: str, target: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--no-deps",
           "--ignore-installed", "--only-binary=:all:", "--python-version", "3.11",
           "--implementation", "cp", "--abi", "cp311", "--abi", "abi3", "--abi", "none",
           "--target", target, "--disable-pip-version-check", "--retries", "5"]
    for plat in PLATFORMS:
        cmd += ["--platform", plat]
    return subprocess.run(cmd + [pin], capture_output=True, text=True, timeout=300)


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or [ROOT / "requirements" / f for f in FILES]
    allowed = source_only()
    missing, unreachable = [], []
    wanted = pins(paths)
    with tempfile.TemporaryDirectory() as target, ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda pin: resolves(pin, target), wanted))  # network-bound
    for pin, proc in zip(wanted, answers, strict=True):
        if proc.returncode == 0:
            continue
        text = proc.stderr + proc.stdout
        if "No matching distribution" not in text and "Could not find a version" not in text:
            unreachable.append(f"{pin}: {text.strip().splitlines()[-1:]}")
        elif Requirement(pin).name.lower() in allowed:
            print(f"check_wheels: {pin}: source only (allowed, see scripts/source-only-pins.txt)")
        else:
            missing.append(pin)
    if unreachable:
        print("check_wheels: the index could not be asked:", *unreachable, sep="\n  ", file=sys.stderr)
        return 3
    if missing:
        print("check_wheels: no aarch64/cp311 wheel for:", *missing, sep="\n  ", file=sys.stderr)
        return 1
    print("check_wheels: every pin has an aarch64 wheel for Python 3.11 (or is allowed source-only)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
