"""The release is complete: its version, and every part and library imports."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from kiosk.doctor import FAIL, OK, CheckResult

# Imported for real (a syntax error or a missing library shows), cheap enough,
# with the name each must offer by docs/architecture.md (an empty package fails).
PARTS = {"kiosk.cli": "main", "kiosk.link.client": "CenterClient", "kiosk.link.outbox": "Outbox",
         "kiosk.link.worker": None, "hardware.cameras": "open_camera",
         "hardware.printing": "PrintService", "hardware.qr": "make_decoder",
         "kiosk.sheets": "render_sheet", "kiosk.qr_payloads": "classify", "center": None}
# Only located: importing them loads big models or a window system.
LOCATED = ("kiosk.app", "kiosk.photo.pipeline", "kivy", "mediapipe", "cv2", "gphoto2", "cups",
           "zxingcpp")


def release_info() -> dict[str, str]:
    from kiosk.paths import ROOT

    info: dict[str, str] = {}
    path = ROOT.parent / "RELEASE"
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            info[key.strip()] = value.strip()
    return info


def check(settings: Any) -> CheckResult:
    broken = []
    for name, attr in PARTS.items():
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - any failure means a broken release
            broken.append(f"{name} ({type(exc).__name__}: {exc})")
            continue
        if attr and not hasattr(module, attr):
            broken.append(f"{name} (has no {attr})")
    for name in LOCATED:
        try:
            if importlib.util.find_spec(name) is None:
                broken.append(f"{name} (missing)")
        except (ImportError, ValueError) as exc:
            broken.append(f"{name} ({type(exc).__name__}: {exc})")
    info = release_info()
    version = info.get("version") or "development tree"
    if broken:
        return CheckResult("install", FAIL, f"release {version}: not installed or broken: "
                           + "; ".join(broken),
                           "reinstall (scripts/install.sh) or roll back (scripts/upgrade.sh --rollback)")
    commit = f" ({info['commit']})" if info.get("commit") else ""
    return CheckResult("install", OK, f"release {version}{commit}: all parts import")
