"""``kiosk outbox status|drain|retry``: the upload queue, for operators and technicians."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from kiosk.cli import EXIT_ERROR, EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("outbox", help="photos waiting for upload to the center")
    cmds = parser.add_subparsers(dest="outbox_cmd", metavar="CMD")

    p = cmds.add_parser("status", help="backlog: pending, parked, oldest age, last error")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_status)

    p = cmds.add_parser("drain", help="upload waiting photos now")
    p.add_argument("--once", action="store_true",
                   help="one pass over the photos that are due (respects back-off)")
    p.set_defaults(func=cmd_drain)

    p = cmds.add_parser("retry", help="re-queue parked photos after fixing the cause")
    p.add_argument("ids", nargs="*", type=int, help="item ids (default: all parked)")
    p.set_defaults(func=cmd_retry)
    parser.set_defaults(func=cmd_status, json=False)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "never"


def format_status(st: dict[str, Any]) -> str:
    lines = [
        f"waiting:   {st['pending']} (in flight {st['in_flight']})",
        f"parked:    {st['parked']}",
        f"oldest:    {_age(st['oldest_age_s'])}",
        f"next try:  {_age(st['next_attempt_in_s'])}",
        f"last sent: {_when(st['last_success_at'])}",
        f"kept after upload: {st['acked_kept']}",
    ]
    err = st.get("last_error")
    if err:
        lines.append(f"last error: {err.get('code')} at {_when(err.get('at'))}: {err.get('en')}"
                     + (f" ({err['detail']})" if err.get("detail") else ""))
    for item in st["parked_items"]:
        e = item.get("last_error") or {}
        lines.append(f"  parked #{item['id']} {item['code_ref']}: {e.get('code')} - "
                     f"{e.get('en')} / {e.get('zh')}")
    if st["parked"]:
        lines.append("fix the cause, then: kiosk outbox retry [ID...]")
    lines += fault_lines(st)
    return "\n".join(lines)


def fault_lines(st: dict[str, Any]) -> list[str]:
    """What the operator must know about the booth's disk and the queue's database."""
    from kiosk import notices

    lines = []
    rebuilt = st.get("rebuilt")
    if rebuilt:
        lines.append(f"REBUILT at {_when(rebuilt.get('at'))}: "
                     + notices.operator_line("outbox_rebuilt", **rebuilt))
    elif st.get("damaged_copies"):
        lines.append("damaged database(s) kept: " + ", ".join(st["damaged_copies"]))
    if st.get("disk_full"):
        lines.append(f"DISK FULL ({st.get('disk_free_kb')} KiB free"
                     + (", opened read-only" if st.get("read_only") else "")
                     + "): " + notices.operator_line("outbox_disk_full"))
    return lines


def cmd_status(args: argparse.Namespace) -> int:
    from kiosk.link.outbox import Outbox
    from kiosk.settings import load_settings

    box = Outbox.open_default(None, load_settings(), reader=True)  # a full disk: read-only, the reserve kept
    try:
        st = box.status()
    finally:
        box.close()
    if args.json:
        print(json.dumps(st, ensure_ascii=False, indent=2))
    else:
        print(format_status(st))
    return EXIT_OK


def cmd_drain(args: argparse.Namespace) -> int:
    from kiosk.link.client import CenterUnreachable
    from kiosk.link.connect import make_client
    from kiosk.link.outbox import Outbox
    from kiosk.settings import load_settings

    settings = load_settings()
    box = Outbox.open_default(None, settings)
    try:
        try:
            client = make_client(settings)
        except CenterUnreachable as exc:
            print(f"center unreachable: {exc.detail}")
            return EXIT_ERROR
        with client:
            if not args.once:
                box.retry_now()
            total = {"uploaded": 0, "retried": 0, "parked": 0}
            while True:
                res = box.drain_once(client)
                for k in total:
                    total[k] += getattr(res, k)
                if args.once or res.unreachable or not res.attempted:
                    break
        full = box.short_of_room()
        freed = box.purge(now=True) if full else 0  # a full disk: the center's copies suffice
        st = box.status()
    finally:
        box.close()
    print(f"uploaded {total['uploaded']}, to retry {total['retried']}, parked "
          f"{total['parked']}; waiting {st['pending']}, parked {st['parked']}")
    if full:
        from kiosk import notices

        print(f"{notices.operator_line('outbox_disk_full')}; deleted {freed} local "
              "copies the center already has")
    if res.unreachable:
        err = st.get("last_error") or {}
        print(f"center unreachable or refusing uploads now: {err.get('code')} "
              f"{err.get('detail', '')}")
        return EXIT_ERROR
    return EXIT_OK


def cmd_retry(args: argparse.Namespace) -> int:
    from kiosk.link.outbox import Outbox
    from kiosk.settings import load_settings

    box = Outbox.open_default(None, load_settings())
    try:
        n = box.retry_parked(args.ids or None)
    finally:
        box.close()
    print(f"re-queued {n} parked photo(s)")
    return EXIT_OK
