"""``kiosk doctor [--json] [--smoke] [--only a,b]``: the booth's health for a technician.

Exit 0 when nothing failed (warnings included), 3 when something needs a
technician. ``--smoke`` runs only the software checks (``doctor.smoke_checks``),
the health check of an upgrade, with no device needed.
"""

from __future__ import annotations

import argparse
import json
import sys

MARK = {"ok": "  ok ", "warn": " WARN", "fail": " FAIL"}


def _run(args: argparse.Namespace) -> int:
    from kiosk.doctor import FAIL, run_checks, worst
    from kiosk.errors import ConfigError
    from kiosk.settings import load_defaults, load_settings

    try:
        settings = load_settings()
    except ConfigError:
        # A broken config is itself a finding: run on defaults so the rest still shows.
        from kiosk.settings import Settings

        settings = Settings(load_defaults(), ())
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
    elif args.smoke:
        names = list(settings.get("doctor.smoke_checks") or ["config", "install"])
    else:
        names = None
    results = run_checks(settings, names, args.timeout)
    overall = worst(results)
    if args.json:
        print(json.dumps({"status": overall, "checks": [r.as_dict() for r in results]},
                         ensure_ascii=False, indent=2))
    else:
        for r in results:
            print(f"{MARK.get(r.status, r.status)}  {r.name:<9} {r.detail}")
            if r.hint and r.status != "ok":
                print(f"{'':17}→ {r.hint}")
        summary = {"ok": "all good", "warn": "working, with warnings",
                   "fail": "needs a technician"}[overall]
        print(f"\nkiosk doctor: {summary}", file=sys.stderr if overall == FAIL else sys.stdout)
    return 3 if overall == FAIL else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("doctor", help="check camera, scanner, printer, disk, fonts, "
                              "clock, center and uploads")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--smoke", action="store_true",
                   help="software checks only (doctor.smoke_checks; used by upgrades)")
    p.add_argument("--only", metavar="NAMES", help="comma-separated checks to run")
    p.add_argument("--timeout", type=float, help="seconds per check (default doctor.timeout)")
    p.set_defaults(func=_run)
