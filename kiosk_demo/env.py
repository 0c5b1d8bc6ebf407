"""The complete kiosk on embedded defaults: simulated camera playing a sample
student, the embedded center with the demo roster, a private cupsd with a
virtual printer. Interactive with a display; scripted and screenshotted without.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SAMPLE_STUDENT = "asian_girl_indoor.jpg"
PRINTER = "kiosk-photo"


@dataclass
class DemoEnv:
    state_dir: Path
    settings: Any
    camera_options: dict[str, Any]
    cups: Any = None
    printer_factory: Any = None
    cleanup: list[Path] = field(default_factory=list)

    def printed(self) -> int:
        return len(self.cups.jobs_printed(PRINTER)) if self.cups else 0

    def fault(self, kind: str) -> None:
        if self.cups:
            self.cups.set_fault(PRINTER, kind)

    def close(self) -> None:
        if self.cups is not None:
            self.cups.stop()
        for path in self.cleanup:
            shutil.rmtree(path, ignore_errors=True)


def demo_env(state_dir: Path | None = None) -> DemoEnv:
    from kiosk.paths import PORTRAITS_DIR
    from kiosk.settings import load_settings
    from kiosk.wiring import camera_options

    cleanup = []
    if state_dir is None:
        state_dir = Path(tempfile.mkdtemp(prefix="kiosk-demo-"))
        cleanup.append(state_dir)
    os.environ["KIOSK_STATE_DIR"] = str(state_dir)
    settings = load_settings()
    cam = camera_options(settings)  # the sample clip's folders filled in, as for a booth
    cam["backend"] = "simulated"
    cam["simulated"]["source"] = str(PORTRAITS_DIR / SAMPLE_STUDENT)
    cam["simulated"]["fps"] = 30.0
    env = DemoEnv(state_dir, settings, cam, cleanup=cleanup)
    try:
        from hardware.printing import PrintService
        from hardware.printing.private_cups import PrivateCups

        cups = PrivateCups(state_dir / "cups").start()
        cups.add_printer(PRINTER)
        media = str(settings.get("printer.media", ""))
        env.cups = cups
        env.printer_factory = lambda: PrintService(
            PRINTER, state_dir / "print-journal.json", server=cups.server, media=media,
            poll_interval=0.2)
    except Exception as exc:  # no cupsd on this machine: the demo runs without prints
        print(f"kiosk demo: virtual printer unavailable ({exc})")
    return env


DEMO_BATCH = "GD2026-01"


def demo_context() -> Any:
    """The batch the demo booth is set up for (``config/demo/contexts.toml``)."""
    from kiosk_demo.data import context

    return context("batch", DEMO_BATCH)
