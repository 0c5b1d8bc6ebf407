#!/usr/bin/env python3
"""First-boot provisioning: turn a freshly imaged booth into this booth.

Reads ``kiosk-provision.toml`` (the technician puts it on the SD card's boot
partition; see image/kiosk-provision.toml.example), then:
- writes the device token to /etc/kiosk/device-token (root, 0600) — never the config;
- writes /etc/kiosk/kiosk.toml.d/50-provision.toml (center URL, batch or
  region, printer queue), checked with the release's settings before it is kept;
- sets the hostname and time zone when given;
- deletes the provisioning file: it holds the token, and a FAT partition has
  no permissions.
A bad file changes nothing, stays where it is renamed ``.failed``, and the error
goes to the journal (kiosk-firstboot.service) with the key that is wrong.

    provision.py --boot [--root DIR]     the file from /boot/firmware or /boot
    provision.py --file PATH [--root DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tomllib
from pathlib import Path

APP = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(APP))

BOOT_FILES = ("boot/firmware/kiosk-provision.toml", "boot/kiosk-provision.toml")
DROP_IN = "50-provision.toml"
KNOWN = {"center_url", "device_token", "batch", "region", "printer_queue", "hostname",
         "timezone", "allow_http"}
TOKEN_RE = re.compile(r"^[A-Za-z0-9._~+/=\-]{16,512}$")
HOST_RE = re.compile(r"^[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?$")
ID_RE = re.compile(r"^[A-Za-z0-9_\-]{1,40}$")


class ProvisionError(Exception):
    pass


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _printer_key() -> str | None:
    from kiosk.settings import load_defaults

    defaults = load_defaults()
    for section in ("printer", "printing"):
        if isinstance(defaults.get(section), dict) and "queue" in defaults[section]:
            return section
    return None


def build_drop_in(data: dict) -> tuple[str, str]:
    """(drop-in TOML, token) from a provisioning file; raises naming the bad key."""
    unknown = sorted(set(data) - KNOWN)
    if unknown:
        raise ProvisionError(f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(KNOWN))}")
    token = str(data.get("device_token", "")).strip()
    url = str(data.get("center_url", "")).strip().rstrip("/")
    if url:
        loopback = re.match(r"^http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(/|$)", url)
        if not (url.startswith("https://") or loopback or
                (data.get("allow_http") is True and url.startswith("http://"))):
            raise ProvisionError(f"center_url {url!r} must be https:// (TLS to the center; "
                                 "allow_http = true only for a lab)")
        if not TOKEN_RE.match(token):
            raise ProvisionError("device_token is missing or not a token (16-512 characters, "
                                 "no spaces)")
    elif token:
        raise ProvisionError("device_token given without center_url")

    lines = ["# Written by scripts/provision.py at first boot. Edit freely; the device",
             "# token is not here but in /etc/kiosk/device-token.", ""]
    lines += ["[center]", f"url = {_toml_str(url)}", ""]
    contexts = [k for k in ("batch", "region") if k in data]
    if len(contexts) > 1:
        raise ProvisionError("give either [batch] or [region], not both")
    if contexts:
        kind = contexts[0]
        ctx = data[kind]
        if not isinstance(ctx, dict) or not ID_RE.match(str(ctx.get("id", ""))):
            raise ProvisionError(f"[{kind}] needs id = \"...\" (letters, digits, - and _)")
        feature = bool(ctx.get("feature_required", kind == "batch"))
        lines += ["[session.booth]", f"context_kind = {_toml_str(kind)}",
                  f"context_id = {_toml_str(str(ctx['id']))}",
                  f"context_name = {_toml_str(str(ctx.get('name', '')))}",
                  f"feature_required = {'true' if feature else 'false'}", ""]
    if "printer_queue" in data:
        section = _printer_key()
        if section is None:
            raise ProvisionError("printer_queue given, but this release has no printer.queue")
        lines += [f"[{section}]", f"queue = {_toml_str(str(data['printer_queue']))}", ""]
    return "\n".join(lines), token


def _write(path: Path, text: str, mode: int) -> None:
    from durable import write_durable

    path.parent.mkdir(parents=True, exist_ok=True)
    write_durable(path, text.encode("utf-8"), mode=mode)
    os.chmod(path, mode)
    if os.geteuid() == 0:
        os.chown(path, 0, 0)


def provision(source: Path, root: Path) -> list[str]:
    """Apply ``source`` to the system under ``root``; returns what was done."""
    from kiosk.errors import ConfigError
    from kiosk.settings import parse_settings

    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProvisionError(f"{source}: {exc}") from None
    drop_in, token = build_drop_in(data)
    etc = root / "etc"
    main = etc / "kiosk" / "kiosk.toml"
    target = etc / "kiosk" / "kiosk.toml.d" / DROP_IN
    staged = target.with_name(f".{DROP_IN}.new")
    staged.parent.mkdir(parents=True, exist_ok=True)
    staged.write_text(drop_in, encoding="utf-8")
    others = sorted(p for p in target.parent.glob("*.toml") if p.name != DROP_IN)
    try:
        parse_settings(([main] if main.exists() else []) + others + [staged])
    except ConfigError as exc:
        staged.unlink()
        raise ProvisionError(f"the resulting config is invalid: {exc.detail}") from None
    staged.unlink()
    done = []
    if token:
        _write(etc / "kiosk" / "device-token", token + "\n", 0o600)
        done.append("device token")
    _write(target, drop_in, 0o644)
    done.append(f"config {target.relative_to(root)}")
    if data.get("hostname"):
        host = str(data["hostname"]).lower()
        if not HOST_RE.match(host):
            raise ProvisionError(f"hostname {host!r} is not a valid host name")
        _write(etc / "hostname", host + "\n", 0o644)
        done.append(f"hostname {host}")
    if data.get("timezone"):
        tz = str(data["timezone"])
        zone = Path("/usr/share/zoneinfo") / tz
        if ".." in tz or not zone.is_file():
            raise ProvisionError(f"timezone {tz!r} is unknown")
        link = etc / "localtime"
        link.unlink(missing_ok=True)
        link.symlink_to(zone)
        _write(etc / "timezone", tz + "\n", 0o644)
        done.append(f"timezone {tz}")
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="/", help="system root (scratch roots for tests)")
    parser.add_argument("--boot", action="store_true", help="use the boot partition's file")
    parser.add_argument("--file", help="provisioning file")
    parser.add_argument("--keep", action="store_true", help="do not delete the file afterwards")
    args = parser.parse_args(argv)
    root = Path(args.root)
    if args.file:
        source = Path(args.file)
    elif args.boot:
        source = next((root / p for p in BOOT_FILES if (root / p).is_file()), None)
        if source is None:
            print("provision: no kiosk-provision.toml on the boot partition; nothing to do")
            return 0
    else:
        parser.error("give --boot or --file")
    try:
        done = provision(source, root)
    except (ProvisionError, OSError) as exc:
        print(f"provision: {source.name}: {exc}", file=sys.stderr)
        if args.boot and source.exists():
            source.replace(source.with_name(source.name + ".failed"))
        return 3
    if not args.keep:
        source.unlink()
    print(f"provision: done ({', '.join(done)}); {source.name} "
          f"{'kept' if args.keep else 'deleted'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
