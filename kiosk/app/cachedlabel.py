"""Labels whose textures are rendered once and then only swapped.

A Kivy Label uploads a new texture every time its text changes, and it does so
while the window is being drawn. Under a software renderer that upload waits
for the frames still in flight: 100–160 ms on the capture screen, where the
instruction, its arrow and the 3-2-1 change while the live preview runs. The
texts there come from a small, known set, so they are rendered and uploaded
before the student arrives (``warm``), and a change of text just binds another
texture.
"""

from __future__ import annotations

from typing import Any, ClassVar

from kivy.core.text import Label as CoreLabel
from kivy.graphics import Fbo, Rectangle
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.widget import Widget


class CachedLabel(Widget):
    """One line or a wrapped paragraph, centred; ``wrap_width`` 0 means no wrapping."""

    text = StringProperty("")
    font_size = NumericProperty(20)
    bold = BooleanProperty(False)
    wrap_width = NumericProperty(0)
    color = ListProperty([1, 1, 1, 1])
    texture = ObjectProperty(None, allownone=True)

    _cache: ClassVar[dict[tuple, Any]] = {}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fbind("text", self._refresh)
        self.fbind("font_size", self._refresh)
        self.fbind("bold", self._refresh)
        self.fbind("wrap_width", self._refresh)
        self._refresh()

    def _refresh(self, *_a: Any) -> None:
        self.texture = self.texture_for(self.text, self.font_size, self.bold, self.wrap_width)

    @classmethod
    def texture_for(cls, text: str, font_size: float, bold: bool, wrap_width: float) -> Any:
        if not text:
            return None
        key = (text, round(float(font_size), 2), bool(bold), int(wrap_width))
        tex = cls._cache.get(key)
        if tex is None:
            opts: dict[str, Any] = {"text": text, "font_size": font_size, "bold": bold,
                                    "halign": "center"}
            if wrap_width:
                opts["text_size"] = (int(wrap_width), None)
            core = CoreLabel(**opts)
            core.refresh()
            tex = cls._cache[key] = core.texture
        return tex

    @classmethod
    def warm(cls, texts: list[str], font_size: float, bold: bool = False,
             wrap_width: float = 0) -> int:
        """Render and upload these texts now (call it while the screen is calm).

        Drawing each texture once into a tiny off-screen buffer makes Kivy fill
        it here rather than in the middle of a later frame.
        """
        textures = [cls.texture_for(t, font_size, bold, wrap_width) for t in texts if t]
        fbo = Fbo(size=(4, 4))
        with fbo:
            for tex in textures:
                Rectangle(texture=tex, pos=(0, 0), size=(1, 1))
        fbo.draw()
        return len(textures)
