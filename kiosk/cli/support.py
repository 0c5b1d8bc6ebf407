"""``kiosk support bundle -o FILE.tar.gz``: logs, config and device states, redacted."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def _bundle(args: argparse.Namespace) -> int:
    from kiosk.settings import load_settings
    from kiosk.support import build_bundle

    out = Path(args.output or f"kiosk-support-{time.strftime('%Y%m%d-%H%M%S')}.tar.gz")
    toc = build_bundle(out, load_settings(), doctor=not args.no_doctor)
    print(f"support bundle: {toc['path']} ({len(toc['members'])} files, personal data redacted)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("support", help="collect a support bundle for a technician")
    sub = parser.add_subparsers(dest="support_command", metavar="ACTION", required=True)
    p = sub.add_parser("bundle", help="write logs, config, device states and versions "
                       "(redacted) to a .tar.gz")
    p.add_argument("-o", "--output", help="file to write (default kiosk-support-<time>.tar.gz)")
    p.add_argument("--no-doctor", action="store_true", help="skip the doctor's device checks")
    p.set_defaults(func=_bundle)
