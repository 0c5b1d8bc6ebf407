"""``kiosk center backup DIR``, ``restore DIR`` and ``purge [--dry-run]`` (a private
module: the leading underscore keeps ``kiosk.cli`` from taking it for a command).

Registered under ``kiosk center`` (``kiosk.cli.center.register``). The
work is in ``center.backup`` and ``center.retention``; this module parses,
opens the center without starting its background workers, and prints.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.cli import EXIT_ERROR, EXIT_OK


def _open(args: argparse.Namespace) -> Any:
    from kiosk.cli.center_setup import open_center

    return open_center(args)


def _backup(args: argparse.Namespace) -> int:
    from center.backup import backup

    center = _open(args)
    try:
        summary = backup(center.db, center.store, center.settings.secrets_dir, Path(args.dir))
    finally:
        center.close()
    rows = sum(summary.tables.values())
    print(f"backup in {args.dir}: {rows} rows in {len(summary.tables)} tables, "
          f"{summary.photos} photos, schema {summary.revision}")
    return EXIT_OK


def _restore(args: argparse.Namespace) -> int:
    from center.backup import restore

    center = _open(args)
    try:
        summary = restore(center.db, center.store, center.settings.secrets_dir, Path(args.dir))
    finally:
        center.close()
    rows = sum(summary.tables.values())
    print(f"restored from {args.dir}: {rows} rows, {summary.photos} photos")
    return EXIT_OK


def _purge(args: argparse.Namespace) -> int:
    from center.retention import purge

    center = _open(args)
    conf = center.settings.get("retention") or {}
    days = args.days if args.days is not None else float(conf.get("purge_after_days", 0))
    if not conf.get("enabled") and args.days is None and not args.dry_run:
        center.close()
        print("retention is off ([center_server.retention] enabled = false); "
              "see what it would do with --dry-run", file=sys.stderr)
        return EXIT_ERROR
    try:
        out = purge(center.db, center.store, days, actor="cli:purge", dry_run=args.dry_run)
    finally:
        center.close()
    if args.json:
        print(json.dumps({
            "dry_run": out.dry_run,
            "purge_after_days": days,
            "purged": [p.as_dict() for p in out.purged],
            "waiting": out.waiting,
            "photos_deleted": out.photos_deleted,
            "photos_left": len(out.photos_left),
        }, ensure_ascii=False, indent=1))
    else:
        verb = "would purge" if out.dry_run else "purged"
        for p in out.purged:
            print(f"{verb} batch {p.batch_id}: {p.students} students, {p.orders} orders, "
                  f"{len(p.photos)} photos, {p.emails} e-mail addresses, "
                  f"{p.reprint_addresses} postal addresses")
        for w in out.waiting:
            print(f"kept batch {w['batch_id']}: {w['reason']}")
        if not out.purged:
            print(f"no batch is due ({days:g} days after export and completion)")
    return EXIT_ERROR if out.photos_left else EXIT_OK


def register(add: Callable[[str, Callable, str], argparse.ArgumentParser]) -> None:
    """``add`` is ``kiosk center``'s own helper (adds --db and --data)."""
    p = add("backup", _backup, "back up the database and the photos into DIR (new or empty)")
    p.add_argument("dir")
    p = add("restore", _restore, "restore a backup into this center (which must be empty)")
    p.add_argument("dir")
    p = add("purge", _purge,
            "purge photos and personal data of batches exported and complete "
            "[center_server.retention] days ago")
    p.add_argument("--dry-run", action="store_true", help="only report what would be purged")
    p.add_argument("--days", type=float, help="days after export and completion (overrides config)")
    p.add_argument("--json", action="store_true")
