"""The booth assembled from its settings: every service the screens use.

``Booth.start()`` brings up the embedded center when no center URL is
configured, the outbox, the camera thread, the pipeline (warmed up), the
printer and the QR decoder; ``health()`` is what the operator panel shows.
Parts another team has not installed yet show as "failed: not installed"
instead of stopping the booth.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hardware.health import Health, healthy, missing
from kiosk.link.api import CenterApi
from kiosk.services.camera import CameraWorker
from kiosk.services.center import CenterService
from kiosk.services.device_report import DeviceReport
from kiosk.services.frames import LatestFrame
from kiosk.services.pipeline import PipelineWorker
from kiosk.services.ports import KioskPorts
from kiosk.services.post import Post
from kiosk.services.printer import PrinterWorker

log = logging.getLogger(__name__)

# Disk space below which the booth stops taking photos (they could not be kept).
MIN_FREE_BYTES = 200 * 1024 * 1024


def master_from_photo(jpeg: bytes) -> Any:
    """A Master from an approved 480×640 photo (reprint of an older order).

    The geometry is the standard's nominal head position; the photo passed
    the checks, so its head is within those bands.
    """
    import io

    from PIL import Image

    from kiosk.photo.master import Master

    image = Image.open(io.BytesIO(jpeg)).convert("RGB")
    w, h = image.size
    geometry = {"eye_y": 0.39 * h, "crown_y": 0.125 * h, "chin_y": 0.72 * h,
                "face_cx": w / 2, "face_width": 0.5 * w}
    return Master(image, geometry)


class Booth:
    def __init__(self, settings: Any, post: Post, state_dir: Path,
                 camera_options: dict[str, Any] | None = None,
                 printer_factory: Callable[[], Any] | None = None,
                 embedded: bool | None = None) -> None:
        self.settings = settings
        self.post = post
        self.state_dir = Path(state_dir)
        self.slot = LatestFrame()
        self.camera_options = camera_options
        self.printer_factory = printer_factory
        self.embedded_wanted = embedded
        self.embedded: Any = None
        self.outbox: Any = None
        self.camera: CameraWorker | None = None
        self.pipeline: PipelineWorker | None = None
        self.center: CenterService | None = None
        self.printer: PrinterWorker | None = None
        self.ports: KioskPorts | None = None
        self.device_report = DeviceReport(self.state_dir)
        self.decoder: Any = None
        self.public_keys: list[bytes] = []
        self.scanner_status = Health("unknown")

    # -- start / stop -----------------------------------------------------------
    def start(self) -> Booth:
        from kiosk.link.connect import is_embedded, make_client
        from kiosk.link.grants import GrantBook
        from kiosk.link.outbox import Outbox

        s = self.settings
        self.state_dir.mkdir(parents=True, exist_ok=True)
        want_embedded = is_embedded(s) if self.embedded_wanted is None else self.embedded_wanted
        if want_embedded:
            from kiosk.link.embedded import EmbeddedCenter

            self.embedded = EmbeddedCenter(self.state_dir, s.section("center_server")).start()
        self.outbox = Outbox.open_default(self.state_dir, s)

        # One book of grants for every client of this booth: the screen's calls,
        # the printer thread's reprint and the outbox drain (kiosk/link/grants.py).
        self.grants = GrantBook()

        def client() -> CenterApi:
            c = make_client(s, self.state_dir)
            c.grants = self.grants
            return c

        self.make_client = client
        self.center = CenterService(client, self.outbox, self.post,
                                    float(s.get("outbox.idle_poll_s", 30.0)),
                                    grants=self.grants).start()
        self.pipeline = PipelineWorker(self.post, settings=s)
        self.pipeline.warm_up()
        try:
            from hardware.qr import make_decoder

            self.decoder = make_decoder(str(s.get("scanner.decoder", "zxing")))
            self.scanner_status = healthy()
        except ImportError:  # the decoder's package is not installed: the doctor says which
            self.scanner_status = missing("QR decoder")
        self.camera = CameraWorker(
            self._camera_opener(), self.post, self.slot,
            preview_width=int(s.get("ui.preview.width", 640)),
            fps=float(s.get("ui.preview.fps", 30.0)),
            make_guide=lambda: _make_guide(s), decoder=self.decoder,
            preview_timeout=float(s.get("camera.preview_timeout", 1.0)),
            capture_timeout=float(s.get("camera.capture_timeout", 10.0)),
        ).start()
        self.printer = PrinterWorker(self.printer_factory, self.post,
                                     on_printed=self._reprint_printed).start()
        self.ports = KioskPorts(self.camera, self.pipeline, self.center, self.printer,
                                self.render_sheet, state_dir=self.state_dir)
        self.center.run(lambda c: c.keys(), self._got_keys, lambda e: None)
        return self

    def _got_keys(self, keys: list[bytes]) -> None:
        self.public_keys = list(keys)

    def _camera_opener(self) -> Callable[[], Any]:
        from kiosk.wiring import camera_options

        opts = self.camera_options or camera_options(self.settings)
        backend = str(opts.get("backend", "simulated"))

        def open_it() -> Any:
            from hardware.cameras import open_camera

            return open_camera(backend, opts)

        return open_it

    def stop(self) -> None:
        for part in (self.camera, self.printer, self.pipeline, self.center):
            if part is not None:
                try:
                    part.stop()
                except Exception:
                    log.debug("stop failed", exc_info=True)
        if self.outbox is not None:
            self.outbox.close()
        if self.embedded is not None:
            self.embedded.stop()

    # -- sheets ------------------------------------------------------------------
    def _reprint_printed(self, reprint_no: str) -> None:
        """The booth's reprint order moves 待发货 → 已发货 at the center once printed."""
        if self.center is not None:
            self.center.run(lambda c: c.reprint_printed(reprint_no), lambda _r: None,
                            lambda e: log.warning("reprint %s not marked printed: %s",
                                                  reprint_no, getattr(e, "code", e)))

    def render_sheet(self, master: Any, layout: int, code: str, copies: int) -> Any:
        """Runs in the printer thread: tell the center, fetch the photo when needed, render.

        Returns ``(sheet, reprint_no)``; the printer submits with the reprint number as key.
        """
        from kiosk.sheets import render_sheet

        client = self.make_client()
        reprint_no = ""  # the print journal's key: a restart never prints one order twice
        if code:
            try:
                reprint_no = str(client.reprint(code, layout, copies, "booth")["reprint_no"])
            except Exception as exc:  # the print matters more than the record
                log.warning("reprint not recorded at the center: %s", type(exc).__name__)
        if master is None:
            import requests

            url = client.download_link(code)["url"]
            resp = requests.get(url, timeout=15)
            resp.raise_for_status()
            master = master_from_photo(resp.content)
        return render_sheet(master, layout, options=self.settings.section("sheets")), reprint_no

    # -- health ------------------------------------------------------------------
    def disk(self) -> Health:
        try:
            free = shutil.disk_usage(self.state_dir).free
        except OSError as exc:
            return Health("failed", str(exc))
        if free < MIN_FREE_BYTES:
            return Health("failed", f"{free // (1024 * 1024)} MB free")
        return Health("ok", f"{free // (1024 * 1024)} MB free")

    def health(self) -> dict[str, Health]:
        unknown = Health("unknown")
        return {
            "camera": self.camera.health() if self.camera else unknown,
            "scanner": self.scanner_status,
            "printer": self.printer.health() if self.printer else unknown,
            "network": self.center.network() if self.center else unknown,
            "disk": self.disk(),
            "outbox": self.center.outbox_status() if self.center else unknown,
        }


def _make_guide(settings: Any) -> Any:
    """The live guide, in the camera thread: the booth's spec and guidance options."""
    from kiosk.photo.guidance import Guide
    from kiosk.wiring import guide_options, photo_spec

    return Guide(photo_spec(settings), guide_options(settings))
