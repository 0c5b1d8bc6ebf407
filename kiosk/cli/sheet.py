"""``kiosk sheet MASTER --layout 1|2 -o OUT.pdf|OUT.jpg [--cut-marks]``: a reprint sheet."""

from __future__ import annotations

import argparse
import sys
import time

from kiosk.cli import EXIT_ERROR, EXIT_OK, EXIT_UNREADABLE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sheet", help="render a reprint sheet (6-inch paper) from a master PNG")
    p.add_argument("master", help="master PNG with its kiosk-geometry chunk (kiosk photo make)")
    p.add_argument("--layout", type=int, choices=(1, 2), required=True,
                   help="layout number: config/layouts/<N>.toml (1: 8 small + 4 large, 2: 8 large)")
    p.add_argument("-o", "--output", required=True, help="OUT.pdf (exact paper size) or OUT.jpg")
    p.add_argument("--cut-marks", action="store_true", default=None, help="draw cut marks")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kiosk.photo.master import load_master
    from kiosk.settings import load_settings
    from kiosk.sheets import render_sheet

    if not args.output.lower().endswith((".pdf", ".jpg", ".jpeg")):
        print("kiosk sheet: the output must end in .pdf or .jpg", file=sys.stderr)
        return EXIT_ERROR
    try:
        master = load_master(args.master)
    except (OSError, ValueError) as exc:
        print(f"kiosk sheet: cannot read master {args.master}: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    t0 = time.perf_counter()
    sheet = render_sheet(master, args.layout, cut_marks=args.cut_marks,
                         options=load_settings().section("sheets"))
    ms = (time.perf_counter() - t0) * 1000
    path = sheet.save(args.output)
    w, h = sheet.image.size
    wmm, hmm = sheet.layout.width_mm, sheet.layout.height_mm
    print(f"{path}: {sheet.layout.title_zh} / {sheet.layout.title_en}, {w}x{h} px at "
          f"{sheet.layout.dpi} dpi = {wmm:g}x{hmm:g} mm, rendered in {ms:.0f} ms")
    return EXIT_OK
