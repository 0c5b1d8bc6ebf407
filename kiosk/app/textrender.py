"""Text laid out and rasterised off the UI thread; the UI thread only uploads the pixels.

A Kivy ``Label`` lays out and rasterises its text on the UI thread, in the
middle of drawing a frame (``_texture_fill``). For the handful of texts that
come from a small known set, ``CachedLabel`` renders them before the student
arrives. The review screen's texts cannot be known in advance (the list of
check items carries the measured values), and rendering them when the photo
arrived stalled the UI 140–250 ms under load. Here they are rendered by a
render thread with Kivy's own text provider into an ``ImageData`` (pixels in
memory, no GL); the UI thread then makes a texture of those pixels, which
takes a few milliseconds.

Why the provider may run in another thread: the SDL2 text provider
(``kivy/core/text/_text_sdl2.pyx``) does its SDL_ttf calls, the font cache
included, with the GIL held (no ``nogil`` section), so a render in this thread
and one on the UI thread never run SDL_ttf at the same time; the rest is plain
Python on the label's own objects. ``tests/ui/test_textrender.py`` checks that
the pixels are the same as a ``Label`` rendered on the UI thread. Nothing here
creates or touches a texture outside the UI thread.

Wrapped texts follow Chinese line breaking (``kiosk.app.linebreak``): where
Kivy's wrapping would start a line with 、 or end one with （, the text is
broken one character earlier; elsewhere the lines are Kivy's own.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kiosk.app.linebreak import laid_out

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextSpec:
    """Everything that decides a text's pixels (the colour is baked in, as a Label does)."""

    text: str
    font_size: float
    color: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    bold: bool = False
    wrap_width: int = 0  # 0: one line per paragraph, no wrapping
    halign: str = "center"
    markup: bool = False

    def options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {"text": self.text, "font_size": self.font_size,
                                "color": self.color, "bold": self.bold, "halign": self.halign}
        if self.wrap_width:
            opts["text_size"] = (int(self.wrap_width), None)
        return opts


class Prepared:
    """Pixels rendered ahead (in a worker) for texts the UI is about to show; bounded."""

    def __init__(self, limit: int = 8) -> None:
        self.limit = limit
        self._items: dict[TextSpec, Any] = {}
        self._lock = threading.Lock()

    def put(self, spec: TextSpec, data: Any) -> None:
        with self._lock:
            self._items.pop(spec, None)
            self._items[spec] = data
            while len(self._items) > self.limit:
                del self._items[next(iter(self._items))]

    def take(self, spec: TextSpec) -> Any:
        """The pixels of ``spec`` if they were rendered ahead (once), else None."""
        with self._lock:
            return self._items.pop(spec, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


PREPARED = Prepared()


class _PixelSink:
    """Stands in for the texture a core label blits into: it keeps the pixels."""

    def __init__(self) -> None:
        self.data: Any = None

    def blit_data(self, data: Any) -> None:
        self.data = data


def render(spec: TextSpec) -> Any:
    """The text's pixels (a Kivy ``ImageData``, RGBA) or None for an empty text; any thread.

    The same two passes as ``LabelBase.refresh`` and its texture's fill, the
    second one writing into memory instead of a texture.
    """
    if not spec.text.strip():
        return None
    if spec.markup:
        from kivy.core.text.markup import MarkupLabel as Core
    else:
        from kivy.core.text import Label as Core
    def make(text: str) -> Any:
        core = Core(**{**spec.options(), "text": text})
        core.resolve_font_name()
        return core

    # Chinese line breaking (no 、 first on a line) on top of Kivy's wrapping.
    core, (w, h) = laid_out(make, spec.text, spec.markup)
    if w <= 1 or h <= 1:
        return None
    core._size_texture = core._size = (w, h)
    sink = _PixelSink()
    core.texture = sink
    core.render(real=True)
    return sink.data


def upload(data: Any) -> Any:
    """A texture of rendered pixels (UI thread only), as a Label makes its own."""
    from kivy.graphics.texture import Texture

    tex = Texture.create(size=(data.width, data.height), colorfmt=data.fmt)
    tex.flip_vertical()
    tex.blit_data(data)
    return tex


class Renderer:
    """One thread that renders the texts asked for, in order; answers on the UI thread."""

    def __init__(self, post: Callable[..., None]) -> None:
        self.post = post
        self._jobs: queue.SimpleQueue[tuple[TextSpec, Callable[[Any], None]] | None] = (
            queue.SimpleQueue())
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def request(self, spec: TextSpec, done: Callable[[Any], None]) -> None:
        """Render ``spec`` in the render thread, then ``done(data)`` on the UI thread."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="text-render",
                                                daemon=True)
                self._thread.start()
        self._jobs.put((spec, done))

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            spec, done = job
            try:
                data = render(spec)
            except Exception:  # a text that cannot be drawn must not stop the others
                log.exception("text render failed")
                data = None
            self.post(done, data)


_renderer: Renderer | None = None


def renderer() -> Renderer:
    """The app's render thread (answers posted to the Kivy clock)."""
    global _renderer
    if _renderer is None:
        from kiosk.services.post import kivy_post

        _renderer = Renderer(kivy_post)
    return _renderer
