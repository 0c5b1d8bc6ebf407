"""A label whose pixels are made off the UI thread (``kiosk.app.textrender``).

For texts that cannot be known before the student arrives (the review
screen's verdict and list of check items). The text is drawn from pixels a
worker rendered ahead (``prerender``, from the thread that made the photo) or,
failing that, from the render thread; the UI thread only turns them into a
texture. Until the pixels are there the label draws nothing (``pending``): it
never shows a text other than its own.

Like ``CachedLabel`` it draws its texture itself (one ``Color`` and one
``Rectangle``, centred); the colour is baked into the pixels, as a Kivy
``Label`` does, so markup colours stay as written.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from kivy.clock import Clock
from kivy.graphics import Color, Rectangle
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.widget import Widget

from kiosk.app import textrender
from kiosk.app.textrender import TextSpec


class RenderedLabel(Widget):
    """Wrapped at the widget's width (``wrap``) or one line per paragraph."""

    text = StringProperty("")
    font_size = NumericProperty(20)
    bold = BooleanProperty(False)
    color = ListProperty([1, 1, 1, 1])
    halign = StringProperty("center")
    markup = BooleanProperty(False)
    wrap = BooleanProperty(True)
    texture_size = ListProperty([0, 0])
    # True while the text's pixels are being rendered (nothing of it is drawn yet).
    pending = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        with self.canvas:
            Color(1, 1, 1, 1)
            self._rect = Rectangle(size=(0, 0))
        # What decides the pixels but the text, as plain data a worker may read.
        self.style = TextSpec("", 20.0)
        self._wanted: TextSpec | None = None
        self._trigger = Clock.create_trigger(self._refresh, 0)
        for name in ("text", "font_size", "bold", "color", "halign", "markup", "wrap",
                     "width"):
            self.fbind(name, self._restyle)
        self.fbind("pos", self._place)
        self.fbind("size", self._place)
        self._restyle()

    def _restyle(self, *_a: Any) -> None:
        r, g, b, a = (float(c) for c in self.color)
        self.style = TextSpec("", float(self.font_size), (r, g, b, a), bool(self.bold),
                              int(self.width) if self.wrap else 0, self.halign,
                              bool(self.markup))
        self._trigger()

    def spec(self, text: str, color: Any = None) -> TextSpec:
        """This label's spec for ``text`` (and ``color`` if given); any thread."""
        style = self.style
        if color is not None:
            style = dataclasses.replace(style, color=tuple(color))
        return dataclasses.replace(style, text=text)

    def prerender(self, text: str, color: Any = None) -> None:
        """Render the pixels of a text this label will show soon, in the calling thread
        (a worker's, not the UI thread's)."""
        spec = self.spec(text, color)
        if spec.text.strip():
            textrender.PREPARED.put(spec, textrender.render(spec))

    def _refresh(self, *_a: Any) -> None:
        spec = self.spec(self.text)
        if spec == self._wanted:
            return
        self._wanted = spec
        if not spec.text.strip():
            self._show(None)
            return
        data = textrender.PREPARED.take(spec)
        if data is not None:
            self._show(data)
            return
        self._show(None)  # not the text it had: nothing until the new one is ready
        self.pending = True
        textrender.renderer().request(spec, functools.partial(self._rendered, spec))

    def _rendered(self, spec: TextSpec, data: Any) -> None:
        if spec == self._wanted:
            self._show(data)

    def _show(self, data: Any) -> None:
        self.pending = False
        tex = textrender.upload(data) if data is not None else None
        self._rect.texture = tex
        self.texture_size = list(tex.size) if tex is not None else [0, 0]
        self._place()

    def _place(self, *_a: Any) -> None:
        tex = self._rect.texture
        if tex is None:
            self._rect.size = (0, 0)
            return
        w, h = tex.size
        self._rect.size = (w, h)
        self._rect.pos = (int(self.center_x - w / 2), int(self.center_y - h / 2))


def drawing(widget: Any) -> bool:
    """Whether a ``RenderedLabel`` under ``widget`` still waits for its pixels (a
    screenshot taken now would miss its text)."""
    return any(isinstance(w, RenderedLabel) and w.pending for w in widget.walk())
