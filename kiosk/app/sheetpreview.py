"""The reprint screen's preview: the student's own photo on the sheet as it will print.

The sheet is rendered by the same ``kiosk.sheets.render_sheet`` the printer
uses, in a worker thread (the photo may first come from the center, and a
1800×1200 sheet takes a moment); the UI thread only turns the downscaled
pixels into a texture. Until it is ready the screen shows the layout's
schematic.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)
PREVIEW_WIDTH = 720  # px of the downscaled sheet shown on screen (the widget is ~600 px)


def master_for(booth: Any, code: str, master: Any) -> Any:
    """This session's master, or the approved photo fetched from the center (worker thread)."""
    if master is not None:
        return master
    import requests

    from kiosk.services.booth import master_from_photo

    url = booth.make_client().download_link(code)["url"]
    resp = requests.get(url, timeout=15)
    resp.raise_for_status()
    return master_from_photo(resp.content)


def render_previews(master: Any, layouts: tuple[int, ...] = (1, 2),
                    options: dict[str, Any] | None = None) -> dict[int, Any]:
    """Each layout's sheet, downscaled: {layout: PIL image} (worker thread).

    ``options``: the booth's ``[sheets]`` table, so the preview is what prints.
    """
    from PIL import Image

    from kiosk.sheets import render_sheet

    out = {}
    for layout in layouts:
        image = render_sheet(master, layout, options=options).image.convert("RGB")
        h = round(image.height * PREVIEW_WIDTH / image.width)
        out[layout] = image.resize((PREVIEW_WIDTH, h), Image.LANCZOS)
    return out


def start(booth: Any, code: str, master: Any, post: Callable[..., None],
          done: Callable[[str, dict[int, Any]], None]) -> threading.Thread:
    """Fetch and render in a thread; ``done(code, {layout: texture})`` on the UI thread."""
    from kiosk.app.widgets import texture_from_image

    def work() -> None:
        try:
            images = render_previews(master_for(booth, code, master),
                                     options=booth.settings.section("sheets"))
        except Exception as exc:  # the schematic stays; printing does not depend on this
            log.warning("sheet preview unavailable: %s", type(exc).__name__)
            return
        post(lambda: done(code, {k: texture_from_image(v) for k, v in images.items()}))

    thread = threading.Thread(target=work, name="sheet-preview", daemon=True)
    thread.start()
    return thread
