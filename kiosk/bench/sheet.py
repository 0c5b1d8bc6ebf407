"""Reprint sheet render time (goal ≤ 300 ms), with its parts, for both layouts.

The baseline measured in the same run is the bare cost of the two print cuts
(``cut_print`` for 1寸 and 2寸): what any layout must pay at least.
"""

from __future__ import annotations

import argparse

from kiosk.bench._stats import line, median_ms, timed

NAME = "sheet"
HELP = "reprint sheet render time (layouts 1 and 2, PDF and JPEG), goal ≤ 300 ms"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--master", default="", help="master PNG (default: a drawn 1200x1600 one)")
    parser.add_argument("--repeat", type=int, default=15)


def _drawn_master():
    from PIL import Image, ImageDraw

    from kiosk.photo.master import Master

    img = Image.new("RGB", (1200, 1600), (100, 197, 255))
    d = ImageDraw.Draw(img)
    d.ellipse((380, 300, 820, 900), fill=(230, 190, 160))
    d.rectangle((250, 1000, 950, 1600), fill=(20, 20, 40))
    return Master(img, {"eye_y": 560, "crown_y": 300, "chin_y": 900, "face_cx": 600,
                        "face_width": 440})


def run(args: argparse.Namespace) -> int:
    from kiosk.photo.master import load_master
    from kiosk.photo.prints import cut_print
    from kiosk.photo.spec import load_print_sizes
    from kiosk.sheets import render_sheet

    master = load_master(args.master) if args.master else _drawn_master()
    print(f"master {master.image.size[0]}x{master.image.size[1]}, {args.repeat} runs each")
    sizes = sorted(load_print_sizes())  # 1寸 and 2寸: the sizes the layouts cut
    base = timed(lambda: [cut_print(master, size) for size in sizes], args.repeat)
    print(line(f"baseline: cut {' + '.join(sizes)}", median_ms(base), "ms"))
    worst = 0.0
    for number in (1, 2):
        render = timed(lambda n=number: render_sheet(master, n, cut_marks=True), args.repeat)
        sheet = render_sheet(master, number, cut_marks=True)
        jpeg = timed(lambda s=sheet: (setattr(s, "_jpeg", None), s.jpeg()), args.repeat)
        pdf = timed(lambda s=sheet: s.pdf(), args.repeat)
        total = median_ms(render) + median_ms(jpeg) + median_ms(pdf)
        worst = max(worst, total)
        print(line(f"layout {number}: render", median_ms(render), "ms", "≤ 300 ms"))
        print(line(f"layout {number}: JPEG encode", median_ms(jpeg), "ms"))
        print(line(f"layout {number}: PDF (JPEG cached)", median_ms(pdf), "ms"))
        print(line(f"layout {number}: render + JPEG + PDF", total, "ms", "≤ 300 ms"))
        print(line(f"layout {number}: render / baseline", median_ms(render) / median_ms(base),
                   "x"))
    print("goal met" if worst <= 300 else "GOAL NOT MET")
    return 0
