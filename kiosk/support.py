"""``kiosk support bundle``: one file a technician can send, with no personal data in it.

The bundle holds what is needed to understand a booth's trouble: logs of the
kiosk's units, its config, device states (the doctor's findings, USB and
printer listings), the outbox's summary and versions. Everything written into
it passes through :func:`redact`, which removes what must never leave the
booth: collection codes (replaced by ``kiosk.redact.code_ref`` references, so
events of one student still line up), names, ID numbers, e-mail addresses and
tokens. The device token file is never copied; its value is only used to make
sure it does not appear anywhere else either.
"""

from __future__ import annotations

import io
import json
import os
import platform
import re
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kiosk.redact import code_ref, mask_name

# --- redaction -----------------------------------------------------------------

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
# Resident ID: region (6), birth date (8), sequence (3), check digit or X. Order
# numbers (yyMMddHHmmss + 6 digits) never have a valid birth date where this looks.
ID_NUMBER = re.compile(
    r"(?<![0-9A-Za-z])\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
    r"(?![0-9A-Za-z])"
)
# Values of keys that are secrets or personal, in TOML, JSON, logfmt or headers.
SECRET_KEY = (r"token|password|passwd|secret|pin_hash|pin|api_key|private_key|authorization"
              r"|collection_code|id_last4|last4|feature_code|student_name|real_name|masked_name"
              r"|email|address|phone|id_number")
KEYED = re.compile(
    rf"(?i)(?P<key>[\"']?\b(?:[a-z_]*_)?(?:{SECRET_KEY})\b[\"']?\s*[:=]\s*)"
    r"(?P<value>\"[^\"\n]*\"|'[^'\n]*'|[^\s,;}\]]+)"
)
BEARER = re.compile(r"(?i)\b(bearer|token)\s+[A-Za-z0-9._~+/=\-]{8,}")
# Opaque codes and tokens: 10+ characters of letters and digits (both present).
OPAQUE = re.compile(r"(?<![A-Za-z0-9_\-/.:])(?=[A-Za-z0-9_\-]*\d)(?=[A-Za-z0-9_\-]*[A-Za-z])"
                    r"[A-Za-z0-9_\-]{10,}(?![A-Za-z0-9_\-])")
# A run of 2-4 Han characters standing alone looks like a name.
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
HAN_RUN = re.compile(rf"(?<![{HAN}])[{HAN}]{{2,4}}(?![{HAN}])")
# Keep: file names of the kiosk's units and paths, known words.
SAFE_OPAQUE = re.compile(r"^(?:kiosk|systemd|cups|sd|py|c)[-_]|\.service$|^x86_64|^aarch64"
                         r"|^\d{4}-\d{2}-\d{2}T")
# Digits only: an order number (yyMMddHHmmss + 6) is kept, other long runs are codes.
ORDER_NO = re.compile(r"^\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?:[01]\d|2[0-3])[0-5]\d"
                      r"[0-5]\d\d{6}$")
DIGITS = re.compile(r"(?<![A-Za-z0-9_\-/.:])\d{12,}(?![A-Za-z0-9_\-])")


def vocabulary(config_dir: Path | None = None) -> frozenset[str]:
    """Han words the kiosk itself says (from config/): these are not names."""
    from kiosk.paths import CONFIG_DIR

    words: set[str] = set()
    for path in Path(config_dir or CONFIG_DIR).rglob("*.toml"):
        try:
            words.update(re.findall(rf"[{HAN}]+", path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError):
            continue
    return frozenset(words)


class Redactor:
    """Scrub personal data and secrets from text; ``secrets`` are exact values to remove."""

    def __init__(self, secrets: Iterable[str] = (), words: frozenset[str] | None = None) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        self.words = words if words is not None else vocabulary()

    def _opaque(self, m: re.Match[str]) -> str:
        text = m.group(0)
        if SAFE_OPAQUE.search(text) or re.fullmatch(r"\d+", text):
            return text
        return code_ref(text)

    def _name(self, m: re.Match[str]) -> str:
        run = m.group(0)
        if run in self.words or any(run in w for w in self.words if len(w) > len(run)):
            return run
        return mask_name(run)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<token>")
        text = BEARER.sub(lambda m: f"{m.group(1)} <token>", text)
        text = EMAIL.sub("<email>", text)
        text = ID_NUMBER.sub("<id-number>", text)
        text = KEYED.sub(lambda m: m.group("key") + '"<redacted>"', text)
        text = OPAQUE.sub(self._opaque, text)
        text = DIGITS.sub(lambda m: m.group(0) if ORDER_NO.match(m.group(0))
                          else code_ref(m.group(0)), text)
        return HAN_RUN.sub(self._name, text)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    return Redactor(secrets)(text)


# --- collection ------------------------------------------------------------------

def _run(cmd: list[str], timeout: float = 20.0) -> str:
    if not shutil.which(cmd[0]):
        return f"({cmd[0]} not available)\n"
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                             errors="replace")
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"({' '.join(cmd)} failed: {exc})\n"
    text = out.stdout + (f"\n(stderr)\n{out.stderr}" if out.stderr.strip() else "")
    return text if text.strip() else f"({' '.join(cmd)}: no output, exit {out.returncode})\n"


def _token_values(settings: Any) -> list[str]:
    """The booth's token(s), read only so they can be scrubbed from everything else."""
    found = []
    candidates = [Path(str(settings.get("center.token_file") or "/etc/kiosk/device-token"))]
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    if creds:
        candidates.append(Path(creds) / "kiosk-token")
    try:
        from kiosk.wiring import state_dir

        candidates.append(state_dir(settings) / "center" / "kiosk-token")
    except Exception:  # noqa: BLE001
        pass
    for path in candidates:
        try:
            value = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if value:
            found.append(value)
    return found


def _versions() -> str:
    from importlib import metadata

    from kiosk.doctor.install import release_info

    lines = [f"{k}: {v}" for k, v in release_info().items()] or ["release: development tree"]
    lines += [f"python: {platform.python_version()}", f"platform: {platform.platform()}",
              f"machine: {platform.machine()}"]
    for dist in ("diploma-kiosk", "kivy", "mediapipe", "opencv-contrib-python", "gphoto2",
                 "pycups", "zxing-cpp", "numpy", "pillow", "requests", "fastapi"):
        try:
            lines.append(f"{dist}: {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            lines.append(f"{dist}: not installed")
    return "\n".join(lines) + "\n"


def _config_files(files: list[Path]) -> list[tuple[str, str]]:
    out = []
    for path in files:
        try:
            out.append((f"config/{path.name}", path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            out.append((f"config/{path.name}", f"(unreadable: {exc})\n"))
    return out


def _outbox_summary(state_dir: Path) -> str:
    from kiosk.doctor.outbox import read_status

    status = read_status(state_dir)
    if status is None:
        return json.dumps({"depth": 0, "note": "no outbox yet"}) + "\n"
    # Items themselves are about students: keep only their shape.
    status["parked_items"] = [
        {k: v for k, v in item.items() if k in ("id", "state", "attempts", "created_at",
                                                "last_error", "http_status")}
        for item in status.get("parked_items", [])
    ]
    return json.dumps(status, ensure_ascii=False, indent=2, default=str) + "\n"


def _devices(vendors: list[str]) -> str:
    from kiosk.doctor.camera import ptp_devices
    from kiosk.doctor.scanner import wedge_devices

    parts = [
        "## PTP cameras on USB\n" + ("\n".join(ptp_devices()) or "(none)") + "\n",
        "## keyboard-wedge scanners\n" + ("\n".join(f"{n} {v}" for n, v in
                                                   wedge_devices(vendors)) or "(none)") + "\n",
        "## lsusb\n" + _run(["lsusb"]),
        "## lpstat -l -p\n" + _run(["lpstat", "-l", "-p"]),
        "## v4l2 / dri / input nodes\n" + "\n".join(
            sorted(str(p) for pat in ("video*", "dri/*", "input/event*")
                   for p in Path("/dev").glob(pat))) + "\n",
    ]
    return "\n".join(parts)


def _system(units: list[str]) -> str:
    return "\n".join([
        "## uptime\n" + _run(["uptime"]),
        "## df -h\n" + _run(["df", "-h"]),
        "## timedatectl\n" + _run(["timedatectl", "status"]),
        "## systemctl status\n" + _run(["systemctl", "status", "--no-pager", "-n", "0", *units]),
        "## failed units\n" + _run(["systemctl", "--failed", "--no-pager"]),
    ])


def _journal(unit: str, lines: int, since: str) -> str:
    return _run(["journalctl", "--no-pager", "-o", "short-iso", "-u", unit,
                 "--since", since, "-n", str(lines)], timeout=60)


def build_bundle(out: Path, settings: Any, doctor: bool = True) -> dict[str, Any]:
    """Write the redacted bundle to ``out`` (.tar.gz); returns its table of contents.

    ``settings`` are the parsed ones (``kiosk.settings.Settings``): the config
    files they came from go into the bundle as they are on disk.
    """
    from kiosk.wiring import state_dir

    scrub = Redactor(_token_values(settings))
    sup = settings.section("appliance").get("support", {})
    units = list(sup.get("units") or [])
    members: list[tuple[str, str]] = []

    def add(name: str, produce: Any) -> None:
        try:
            text = produce() if callable(produce) else str(produce)
        except Exception as exc:  # noqa: BLE001 - a bundle with a gap beats no bundle
            text = f"(could not collect: {type(exc).__name__}: {exc})\n"
        members.append((name, scrub(text)))

    add("versions.txt", _versions)
    for name, text in _config_files(list(settings.files)):
        add(name, text)

    def effective() -> str:
        from kiosk.cli.config import dump_toml

        return dump_toml(settings.data)

    add("config/effective.toml", effective)
    if doctor:
        def run_doctor() -> str:
            from kiosk.doctor import run_checks

            results = run_checks(settings)
            return json.dumps([r.as_dict() for r in results], ensure_ascii=False, indent=2) + "\n"

        add("doctor.json", run_doctor)
    add("outbox.json", lambda: _outbox_summary(state_dir(settings)))
    add("devices.txt", lambda: _devices(
        list(settings.get("appliance.udev.scanner_vendors") or [])))
    add("system.txt", lambda: _system(units))
    for unit in units:
        add(f"journal/{unit}.log", lambda u=unit: _journal(
            u, int(sup.get("journal_lines", 3000)), str(sup.get("journal_since", "-3d"))))

    out.parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    prefix = f"kiosk-support-{stamp}"
    tmp = out.with_name(out.name + ".tmp")
    with tarfile.open(tmp, "w:gz") as tar:
        for name, text in members:
            data = text.encode("utf-8")
            info = tarfile.TarInfo(f"{prefix}/{name}")
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
            tar.addfile(info, io.BytesIO(data))
    os.chmod(tmp, 0o600)
    tmp.replace(out)
    return {"path": str(out), "members": [name for name, _ in members]}
