"""``kiosk print FILE [--printer NAME]``: print and wait; non-zero with the printer's reason.

Also ``kiosk print --status`` and ``kiosk print --resume`` (after a refill).
"""

from __future__ import annotations

import argparse
import sys

from kiosk.cli import EXIT_ERROR, EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("print", help="print a file on the photo printer and wait for it")
    p.add_argument("file", nargs="?", help="PDF or JPEG (e.g. from `kiosk sheet`)")
    p.add_argument("--printer", help="CUPS queue (default: printer.queue)")
    p.add_argument("--server", help="CUPS server socket or host:port (default: printer.server)")
    p.add_argument("--copies", type=int, default=1)
    p.add_argument("--key", default="", help="order key: the same key never prints twice")
    p.add_argument("--status", action="store_true", help="show the printer's state and exit")
    p.add_argument("--resume", action="store_true", help="re-enable a paused queue (after refill)")
    p.set_defaults(func=run)


def _service(args: argparse.Namespace):
    from hardware.printing import PrintService
    from kiosk.settings import load_settings
    from kiosk.wiring import state_dir

    settings = load_settings()
    s = settings.section("printer")
    queue = args.printer or s["queue"]
    if not queue:
        print("kiosk print: no printer: set printer.queue or pass --printer", file=sys.stderr)
        return None, s
    return PrintService(
        queue, state_dir(settings) / s["journal"], server=args.server or s["server"] or None,
        media=s["media"], extra_options={k: str(v) for k, v in s["extra_options"].items()},
        stall_timeout=float(s["stall_timeout"]), busy_timeout=float(s["busy_timeout"]),
        poll_interval=float(s["poll_interval"]),
    ), s


def _show(state) -> None:
    print(f"{state.code}: {state.en} / {state.zh}  [{state.detail}]")


def run(args: argparse.Namespace) -> int:
    from hardware.errors import DeviceError
    from kiosk.cli.camera import as_kiosk_error

    service, s = _service(args)
    if service is None:
        return EXIT_ERROR
    try:
        if args.resume:
            _show(service.resume())
            if not args.file:
                return EXIT_OK
        if args.status or not args.file:
            state = service.state()
            _show(state)
            return EXIT_OK if state.ok else EXIT_ERROR
        job = service.submit(args.file, copies=args.copies, key=args.key)
        print(f"job {job} on {service.queue}; waiting ...", flush=True)
        result = service.wait(job, timeout=float(s["job_timeout"]))
    except DeviceError as exc:
        pending = getattr(exc, "pending", False)
        if pending:
            print("the job stays queued and prints after a refill and `kiosk print --resume`",
                  file=sys.stderr)
        raise as_kiosk_error(exc) from None
    print(f"job {result.job_id} printed in {result.seconds:.1f} s")
    return EXIT_OK
