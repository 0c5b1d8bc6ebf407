"""Guidance's promise over every sample portrait, played as a booth plays it.

Each portrait in each booth situation (original, shifted, zoomed out, dimmer,
blurred), previewed at 1280x720 and 640x480 by the simulated camera, against
the still the pipeline makes of it: how often "ready" was given to a refused
still (broken promise, goal 0; a still refused for its matte counts too: the
student was told it would pass), withheld from a compliant one, and how often
the instruction named the still's first fixable failure. The baseline in the
same run is the share of scenes whose still is compliant.
"""

from __future__ import annotations

import argparse
import os
import time

from kiosk.bench._stats import line

NAME = "guidance"
HELP = "guidance's promise: booth variants of every sample portrait vs the still"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--frames", type=int, default=20, help="preview frames per scene")
    parser.add_argument("--portraits", default="", help="folder (default: the sample portraits)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kiosk.bench._booth_play import play_scenes, summary
    from kiosk.paths import PORTRAITS_DIR
    from kiosk.photo.guidance import Guide
    from kiosk.photo.spec import load_spec

    folder = Path(args.portraits) if args.portraits else PORTRAITS_DIR
    files = sorted(folder.glob("*.jpg"))
    spec = load_spec()
    one, five, _ = os.getloadavg()
    print(f"before: load average {one:.2f} (1 min), {five:.2f} (5 min)")
    t0 = time.perf_counter()
    scenes = play_scenes(Guide(spec), files, spec, frames=args.frames)
    secs = time.perf_counter() - t0
    print(summary(scenes))
    n = len(scenes)
    both = [s for s in scenes if not s.ready and s.still and not s.still.startswith("unfixable")]
    print(line("scenes", n, ""))
    broken = [s for s in scenes if s.broken or s.matte_fault]
    print(line("broken promises (matte refusals included)", len(broken), "", "0"))
    print(line("withheld ready (still compliant)", sum(s.withheld for s in scenes), ""))
    print(line("baseline: compliant stills", sum(s.still == "" for s in scenes), ""))
    agree = sum(not s.wrong_instruction for s in both) / max(1, len(both))
    print(line("instruction = still's first fixable failure", 100 * agree, "%"))
    print(line("seconds for the sweep", secs, "s"))
    one, five, _ = os.getloadavg()
    print(f"after: load average {one:.2f} (1 min), {five:.2f} (5 min)")
    return 0 if not broken else 1
