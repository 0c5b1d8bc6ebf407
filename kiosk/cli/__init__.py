"""The ``kiosk`` command. Each module in this package adds its subcommands.

A module defines ``register(subparsers)``; its parsers set ``func`` to a
callable taking the parsed namespace and returning an exit code. Expected
failures (``KioskError``) print one clear line and exit 3 (``EXIT_ERROR``), never
a traceback; 1 and 2 are kept for a non-compliant and an unreadable photo.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from types import ModuleType

from kiosk.errors import KioskError

EXIT_OK = 0
EXIT_NONCOMPLIANT = 1
EXIT_UNREADABLE = 2
EXIT_ERROR = 3


def _version() -> str:
    """The installed distribution's version, so a technician can match a booth to a release."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("diploma-kiosk")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="Diploma-photo kiosk: capture, check and submit CHSI graduation photos.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register:
            register(sub)
    for module in plugins(COMMANDS_GROUP):
        module.register(sub)
    return parser


COMMANDS_GROUP = "kiosk.commands"  # entry points adding subcommands (``kiosk demo``)


def plugins(group: str) -> list[ModuleType]:
    """Modules other installed packages register under an entry-point ``group``.

    This is how the demo harness (the package ``kiosk_demo``) adds ``kiosk demo``
    and ``kiosk bench ui`` without the product importing it: the product only
    reads the distribution's metadata, so a booth image may leave the demo out.
    """
    from importlib.metadata import entry_points

    found = []
    for ep in sorted(entry_points(group=group), key=lambda ep: ep.name):
        try:
            found.append(ep.load())
        except ImportError as exc:  # registered by metadata, not shipped (a booth release)
            logging.getLogger(__name__).debug("plugin %s not available: %s", ep.value, exc)
    return found


def configure_logging(verbose: bool = False) -> None:
    """Levels from ``[logging]``; stderr only, which systemd passes to the journal."""
    level, loggers = "INFO", {}
    try:
        from kiosk.settings import load_settings

        section = load_settings().section("logging")
        level, loggers = section.get("level", level), section.get("loggers", {})
    except KioskError:
        pass  # a broken config is reported by the command itself
    logging.basicConfig(
        level=logging.DEBUG if verbose else getattr(logging, str(level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name, lvl in loggers.items():
        logging.getLogger(name).setLevel(str(lvl).upper())


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(verbose=args.verbose)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_ERROR
    try:
        return int(args.func(args) or 0)
    except KioskError as exc:
        print(f"kiosk: {exc.en} / {exc.zh}", file=sys.stderr)
        if exc.detail:
            print(f"  detail: {exc.detail}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
