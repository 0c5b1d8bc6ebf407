"""Start the kiosk app: Kivy's environment and window first, then the app.

Kivy reads its configuration when first imported, so everything about the
window (size, full screen, offscreen rendering) is decided here before any
``kivy`` import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any


def prepare_display(headless: bool | None = None) -> subprocess.Popen | None:
    """Make sure Kivy can open a window; returns an Xvfb we started, if any.

    With ``$DISPLAY`` a real window opens. Without one: SDL's offscreen
    driver with Mesa EGL, or Xvfb when ``KIOSK_XVFB=1`` (or EGL is missing).
    """
    if os.environ.get("DISPLAY") and not headless:
        return None
    if os.environ.get("KIOSK_XVFB") == "1" and shutil.which("Xvfb"):
        for n in range(90, 140):
            if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
                break
        proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "1920x1080x24", "-nolisten",
                                 "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while not Path(f"/tmp/.X11-unix/X{n}").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.environ["DISPLAY"] = f":{n}"
        return proc
    os.environ.pop("DISPLAY", None)
    os.environ["SDL_VIDEODRIVER"] = "offscreen"
    return None


def configure_kivy(width: int, height: int, fullscreen: bool, quiet: bool = True,
                   hide_cursor: bool = False, multisamples: int | None = None) -> None:
    """Kivy's window settings; ``multisamples`` defaults to ``ui.multisamples``."""
    if multisamples is None:
        from kiosk.settings import load_settings

        multisamples = int(load_settings().get("ui.multisamples", 0))
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    if quiet:
        os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_NO_CONFIG", "1")
    os.environ.setdefault("KIVY_CLIPBOARD", "dummy")
    from kivy.config import Config

    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "resizable", "0")
    Config.set("graphics", "multisamples", str(max(0, multisamples)))
    Config.set("graphics", "show_cursor", "0" if hide_cursor else "1")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    Config.set("kivy", "exit_on_escape", "0")
    from kiosk.app.fonts import register_default_font

    register_default_font()


def make_app(settings: Any, state_dir: Path, camera_options: dict | None = None,
             printer_factory: Any = None, embedded: bool | None = None) -> Any:
    from kiosk.app.kioskapp import KioskApp
    from kiosk.services.booth import Booth

    def make_booth(post: Any) -> Booth:
        return Booth(settings, post, state_dir, camera_options=camera_options,
                     printer_factory=printer_factory, embedded=embedded)

    return KioskApp(settings, make_booth, state_dir)
