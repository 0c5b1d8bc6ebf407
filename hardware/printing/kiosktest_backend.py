#!/usr/bin/env python3
"""CUPS backend ``kiosktest``: the private cupsd's virtual photo printer.

Device URI ``kiosktest:/DIR``. Each job is written to ``DIR/job-<id>.bin`` with
its options in ``DIR/job-<id>.json``. ``DIR/fault`` (one word) makes it fail
the way real photo printers do:
  paper    STATE media-empty-error, exit 4 (stop): the queue pauses, the job waits
  ribbon   STATE marker-supply-empty-error, exit 4
  jam      STATE media-jam-error, exit 4
  offline  STATE offline-error, exit 4
  abort    exit 1 (failed): with error policy abort-job the job is aborted
  stall    hang without progress until cancelled
  low      print, but report marker-supply-low-warning
``DIR/paper_left`` (a number, the sheets of a media kit of ``KIT`` prints) makes it
count down like a dye-sub printer: after each job it reports the prints left as
``marker-levels`` with ``marker-high-levels`` = the kit's size.
Only the standard library: cupsd runs it with the system Python.
"""

import json
import os
import sys
import time

CUPS_BACKEND_OK, CUPS_BACKEND_FAILED, CUPS_BACKEND_STOP = 0, 1, 4
KIT = 700  # prints in the virtual printer's media kit

STOPS = {
    "paper": ("media-empty-error", "Out of paper"),
    "ribbon": ("marker-supply-empty-error", "Ribbon empty"),
    "jam": ("media-jam-error", "Paper jam"),
    "offline": ("offline-error", "Printer is offline"),
}


def say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def main() -> int:
    if len(sys.argv) == 1:
        print('direct kiosktest "Kiosk" "Kiosk virtual photo printer"')
        return CUPS_BACKEND_OK
    if len(sys.argv) not in (6, 7):
        say("ERROR: usage: kiosktest job user title copies options [file]")
        return CUPS_BACKEND_FAILED
    job, _user, title, copies, options = sys.argv[1:6]
    uri = os.environ.get("DEVICE_URI", "")
    out = uri.split(":", 1)[1] if ":" in uri else ""
    if not out or not os.path.isdir(out):
        say(f"ERROR: output folder {out!r} missing")
        return CUPS_BACKEND_STOP
    try:
        with open(os.path.join(out, "fault"), encoding="ascii") as fh:
            fault = fh.read().strip()
    except OSError:
        fault = ""
    for reason in ("media-empty-error", "marker-supply-empty-error", "media-jam-error",
                   "offline-error", "marker-supply-low-warning"):
        say(f"STATE: -{reason}")
    if fault in STOPS:
        reason, text = STOPS[fault]
        say(f"STATE: +{reason}")
        say(f"ERROR: {text}")
        return CUPS_BACKEND_STOP
    if fault == "abort":
        say("ERROR: Printer firmware error, job aborted")
        return CUPS_BACKEND_FAILED
    if fault == "stall":
        say("INFO: waiting for the printer")
        time.sleep(3600)
        return CUPS_BACKEND_FAILED
    data = open(sys.argv[6], "rb").read() if len(sys.argv) == 7 else sys.stdin.buffer.read()
    tmp = os.path.join(out, f".job-{job}.bin")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, os.path.join(out, f"job-{job}.bin"))
    meta = {"job": int(job), "title": title, "copies": int(copies), "options": options,
            "bytes": len(data)}
    with open(os.path.join(out, f"job-{job}.json"), "w", encoding="utf-8") as fh:
        json.dump(meta, fh)
    if fault == "low":
        say("STATE: +marker-supply-low-warning")
    count_down(out, int(copies))
    say("PAGE: 1 1")
    return CUPS_BACKEND_OK


def count_down(out: str, copies: int) -> None:
    """Sheets left after this job, reported as a counted supply (see the docstring)."""
    path = os.path.join(out, "paper_left")
    try:
        with open(path, encoding="ascii") as fh:
            left = max(0, int(fh.read().strip()) - max(1, copies))
    except (OSError, ValueError):
        return
    with open(path, "w", encoding="ascii") as fh:
        fh.write(str(left))
    say("ATTR: marker-names=Media marker-types=ribbon-wax")
    say(f"ATTR: marker-levels={left} marker-high-levels={KIT} marker-low-levels=20")


if __name__ == "__main__":
    sys.exit(main())
