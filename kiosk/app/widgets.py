"""Small widgets the screens share: the hidden operator corner, the sheet schematic, images."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from kivy.clock import Clock
from kivy.core.image import Image as CoreImage
from kivy.graphics import Color, Line, Rectangle
from kivy.properties import NumericProperty, ObjectProperty
from kivy.uix.label import Label
from kivy.uix.widget import Widget

# Print sizes in mm (DOMAIN.md §5) and where each layout puts them on the
# 152.4 × 101.6 mm sheet: (x, y from top-left, w, h).
SHEET_MM = (152.4, 101.6)


def layout_pieces(layout: int) -> list[tuple[float, float, float, float, str]]:
    """Pieces in mm (x, y from top-left, w, h, size name) from ``config/layouts``."""
    from kiosk.sheets.layout import load_layout

    lay = load_layout(layout)
    k = 25.4 / lay.dpi
    return [(p.x * k, p.y * k, p.width * k, p.height * k, p.size) for p in lay.pieces]


class SheetSchematic(Widget):
    """The chosen layout drawn to scale: the student's own sheet (``preview``, as
    rendered for the printer) when it is ready, else each piece as a box labelled
    with its size in mm."""

    layout = NumericProperty(1)
    preview = ObjectProperty(None, allownone=True)

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)
        self._labels: list[Label] = []
        self.bind(pos=self.redraw, size=self.redraw, layout=self.redraw, preview=self.redraw)

    def redraw(self, *_a: object) -> None:
        for lab in self._labels:
            self.remove_widget(lab)
        self._labels = []
        self.canvas.clear()
        sw, sh = SHEET_MM
        k = min(self.width / sw, self.height / sh)
        ox = self.x + (self.width - sw * k) / 2
        oy = self.y + (self.height - sh * k) / 2
        if self.preview is not None:
            with self.canvas:
                Color(1, 1, 1, 1)
                Rectangle(texture=self.preview, pos=(ox, oy), size=(sw * k, sh * k))
                Color(0.6, 0.62, 0.66, 1)
                Line(rectangle=(ox, oy, sw * k, sh * k), width=1)
            return
        with self.canvas:
            Color(1, 1, 1, 1)
            Rectangle(pos=(ox, oy), size=(sw * k, sh * k))
            for x, y, w, h, _name in layout_pieces(int(self.layout)):
                Color(0.39, 0.77, 1.0, 1)  # the standard's blue background
                Rectangle(pos=(ox + x * k, oy + (sh - y - h) * k), size=(w * k, h * k))
                Color(0.2, 0.2, 0.2, 1)
                Line(rectangle=(ox + x * k, oy + (sh - y - h) * k, w * k, h * k), width=1)
        for x, y, w, h, name in layout_pieces(int(self.layout)):
            lab = Label(text=f"{name}\n{min(w, h):.0f}×{max(w, h):.0f}\nmm", halign="center",
                        color=(0.1, 0.1, 0.1, 1), font_size=max(9, k * 4.2),
                        pos=(ox + x * k, oy + (sh - y - h) * k), size=(w * k, h * k))
            self._labels.append(lab)
            self.add_widget(lab)


class CornerHotspot(Widget):
    """The hidden operator gesture: a long press in one corner of the screen."""

    hold = NumericProperty(2.0)

    def __init__(self, on_hold: Callable[[], None], **kw: object) -> None:
        super().__init__(**kw)
        self.on_hold = on_hold
        self._event = None

    def on_touch_down(self, touch: object) -> bool:
        if self.collide_point(*touch.pos):
            self._event = Clock.schedule_once(lambda _dt: self.on_hold(), self.hold)
            touch.grab(self)
            return True
        return False

    def on_touch_up(self, touch: object) -> bool:
        if touch.grab_current is self:
            touch.ungrab(self)
            if self._event is not None:
                self._event.cancel()
                self._event = None
            return True
        return False


def texture_from_bytes(data: bytes, ext: str = "jpg") -> object:
    """A texture from JPEG/PNG bytes (a 480×640 JPEG decodes in a few ms)."""
    return CoreImage(io.BytesIO(data), ext=ext).texture


def texture_from_image(image: Any) -> Any:
    """A texture from an RGB PIL image decoded elsewhere (UI thread: only the upload)."""
    from kivy.graphics.texture import Texture

    tex = Texture.create(size=image.size, colorfmt="rgb")
    tex.blit_buffer(image.tobytes(), colorfmt="rgb", bufferfmt="ubyte")
    tex.flip_vertical()
    return tex


def decode_jpeg(data: bytes) -> Any:
    """An RGB PIL image of JPEG bytes (any thread)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return img.convert("RGB")


def qr_png(text: str, scale: int = 6) -> bytes:
    import segno

    buf = io.BytesIO()
    segno.make(text, error="m").save(buf, kind="png", scale=scale, border=2)
    return buf.getvalue()
