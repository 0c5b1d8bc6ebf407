"""``kiosk scan IMAGE...``: decode QR codes in pictures and say what each is (codes redacted)."""

from __future__ import annotations

import argparse
import sys
import time

from kiosk.cli import EXIT_ERROR, EXIT_OK, EXIT_UNREADABLE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scan", help="decode QR codes in images and classify them")
    p.add_argument("images", nargs="*", help="image files (PNG, JPEG, ...)")
    p.add_argument("--decoder", choices=["zxing", "pyzbar"], help="override scanner.decoder")
    p.add_argument("--list-devices", action="store_true",
                   help="list keyboard-like input devices (wedge scanners)")
    p.add_argument("--wedge", metavar="DEVICE", nargs="?", const="auto",
                   help="read payloads from a keyboard-wedge scanner (auto: by scanner.wedge_name)")
    p.add_argument("--seconds", type=float, default=30.0, help="how long --wedge listens")
    p.set_defaults(func=run)


def describe(payload: bytes | str, public_keys: list | None = None,
             rules: dict | None = None) -> tuple[str, bool]:
    """One redacted line for a payload, and whether it was accepted (``rules``: ``[scanner]``)."""
    from kiosk.qr_payloads import classify

    p = classify(payload, public_keys, rules=rules)
    if p.kind == "collection_code":
        return f"collection_code {p.ref} ({len(p.code)} chars)", True
    if p.context is not None:
        c = p.context
        trust = "verified" if c.verified else "NOT verified (no keys)"
        return (f"{p.kind} {c.id} '{c.name}' valid {c.valid_from}..{c.valid_to} {trust}",
                c.verified)
    return f"rejected: {p.reason}: {p.en} / {p.zh}", False


def run(args: argparse.Namespace) -> int:
    from kiosk.settings import load_settings

    s = load_settings()
    if args.list_devices:
        from hardware.qr.wedge import find_scanners

        found = find_scanners()
        for path, name in found:
            print(f"{path}: {name}")
        if not found:
            print("no keyboard-like input devices (or no permission on /dev/input)")
        return EXIT_OK
    if args.wedge:
        return _wedge(args, s)
    if not args.images:
        print("kiosk scan: give image files, --wedge or --list-devices", file=sys.stderr)
        return EXIT_ERROR
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    from hardware.qr import make_decoder

    decoder = make_decoder(args.decoder or str(s.get("scanner.decoder")))
    status = EXIT_OK
    for name in args.images:
        try:
            with Image.open(name) as im:
                frame = np.asarray(im.convert("L"))
        except (OSError, UnidentifiedImageError) as exc:
            print(f"{name}: unreadable image ({exc})")
            status = EXIT_UNREADABLE
            continue
        t0 = time.perf_counter()
        payloads = decoder.decode(frame)
        ms = (time.perf_counter() - t0) * 1000
        if not payloads:
            print(f"{name}: no QR code found ({decoder.name}, {ms:.1f} ms)")
            status = max(status, EXIT_UNREADABLE)
        for payload in payloads:
            text, ok = describe(payload, rules=s.section("scanner"))
            print(f"{name}: {text} ({decoder.name}, {ms:.1f} ms)")
            if not ok and status == EXIT_OK:
                status = EXIT_ERROR
    return status


def _wedge(args: argparse.Namespace, s) -> int:
    from hardware.errors import DeviceError
    from hardware.qr.wedge import WedgeScanner
    from kiosk.cli.camera import as_kiosk_error

    device = "" if args.wedge == "auto" else args.wedge
    try:
        scanner = WedgeScanner(device, str(s.get("scanner.wedge_name")),
                               gap=float(s.get("scanner.wedge_gap")))
    except DeviceError as exc:
        raise as_kiosk_error(exc) from None
    print(f"listening on {scanner.path} for {args.seconds:.0f} s (Ctrl-C to stop)")
    end = time.monotonic() + args.seconds
    try:
        while time.monotonic() < end:
            text = scanner.read(0.5)
            if text is not None:
                print(describe(text, rules=s.section("scanner"))[0], flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        scanner.close()
    return EXIT_OK
