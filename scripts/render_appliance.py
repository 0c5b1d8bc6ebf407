#!/usr/bin/env python3
"""Render the system files that follow the booth's config (run by install.sh).

``udev``: systemd/udev/70-kiosk-devices.rules.in with the scanner vendors and
extra cameras of ``[appliance.udev]``; ``journald``: the journald drop-in from
``[logging.journal]``. The config read is ``$KIOSK_CONFIG`` (the target's
/etc/kiosk/kiosk.toml), so a scratch-root install uses the scratch root's.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(APP))

from kiosk.errors import ConfigError  # noqa: E402
from kiosk.settings import load_settings  # noqa: E402

HEX4 = re.compile(r"^[0-9a-f]{4}$")


def _vendor(value: str) -> str:
    v = value.strip().lower()
    if not HEX4.match(v):
        raise ConfigError(f"appliance.udev.scanner_vendors: {value!r} is not 4 hex digits")
    return v


def _pair(value: str) -> tuple[str, str]:
    parts = value.strip().lower().split(":")
    if len(parts) != 2 or not all(HEX4.match(p) for p in parts):
        raise ConfigError(f"appliance.udev.extra_cameras: {value!r} is not 'vvvv:pppp'")
    return parts[0], parts[1]


def render_udev() -> str:
    settings = load_settings()
    template = (APP / "systemd" / "udev" / "70-kiosk-devices.rules.in").read_text()
    scanners = [
        f'ENV{{ID_VENDOR_ID}}=="{_vendor(v)}", GOTO="kiosk_scanner_match"'
        for v in settings.get("appliance.udev.scanner_vendors", [])
    ]
    cameras = [
        f'ATTR{{idVendor}}=="{vid}", ATTR{{idProduct}}=="{pid}", GOTO="kiosk_camera"'
        for vid, pid in map(_pair, settings.get("appliance.udev.extra_cameras", []))
    ]
    out = template.replace("@SCANNERS@", "\n".join(scanners) or "# (no scanner vendors)")
    return out.replace("@EXTRA_CAMERAS@", "\n".join(cameras) or "# (no extra cameras)")


def render_journald() -> str:
    journal = load_settings().section("logging").get("journal", {})
    template = (APP / "systemd" / "journald.conf.d" / "kiosk.conf.in").read_text()
    max_use = str(journal.get("max_use", "200M"))
    if not re.match(r"^\d+[KMG]?$", max_use):
        raise ConfigError(f"logging.journal.max_use: {max_use!r} is not like 200M")
    return (
        template.replace("@STORAGE@", "persistent" if journal.get("persistent", True) else "auto")
        .replace("@MAX_USE@", max_use)
        .replace("@BURST@", str(int(journal.get("rate_limit_burst", 10000))))
    )


def main(argv: list[str]) -> int:
    what = argv[1] if len(argv) > 1 else ""
    render = {"udev": render_udev, "journald": render_journald}.get(what)
    if render is None:
        print("usage: render_appliance.py udev|journald", file=sys.stderr)
        return 2
    try:
        sys.stdout.write(render())
    except ConfigError as exc:
        print(f"render_appliance: {exc.detail}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
