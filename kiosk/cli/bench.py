"""``kiosk bench NAME``: benchmarks that print figures (medians and ratios).

Each module in ``kiosk.bench`` (and each one another package registers under
the entry-point group ``kiosk.benchmarks``, e.g. ``kiosk_demo.bench_ui``) defines NAME, HELP, ``add_arguments(parser)`` and
``run(args) -> int``. Speed goals live here, not in timed tests.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil

import kiosk.bench
from kiosk.cli import plugins

BENCH_GROUP = "kiosk.benchmarks"  # entry points adding benchmarks (``kiosk bench ui``)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bench", help="run a benchmark and print its figures")
    names = parser.add_subparsers(dest="bench", metavar="NAME")
    modules = [importlib.import_module(f"kiosk.bench.{info.name}")
               for info in sorted(pkgutil.iter_modules(kiosk.bench.__path__),
                                  key=lambda m: m.name)
               if not info.name.startswith("_")]
    for module in modules + plugins(BENCH_GROUP):
        p = names.add_parser(module.NAME, help=module.HELP)
        module.add_arguments(p)
        p.set_defaults(func=module.run)
