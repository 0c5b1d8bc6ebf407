"""Labels whose textures are rendered once and then only swapped.

A Kivy Label uploads a new texture every time its text changes, and it does so
while the window is being drawn. Under a software renderer that upload waits
for the frames still in flight: 100–160 ms on the capture screen, where the
instruction, its arrow and the 3-2-1 change while the live preview runs. The
texts there come from a small, known set, so they are rendered and uploaded
before the student arrives (``warm``), and a change of text just binds another
texture to the same rectangle.

The widget draws its texture itself (one ``Color`` and one ``Rectangle`` on
its canvas, centred in the widget): a texture that no instruction draws is
never seen, which is how the capture screen once showed nothing at all.
"""

from __future__ import annotations

from typing import Any, ClassVar

from kivy.core.text import Label as CoreLabel
from kivy.graphics import Color, Fbo, Rectangle
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.widget import Widget

from kiosk.app.linebreak import laid_out


class CachedLabel(Widget):
    """One line or a wrapped paragraph, centred; ``wrap_width`` 0 means no wrapping.

    With ``fit_height`` the widget's height follows its text (in a vertical
    BoxLayout that gives the text the room it needs and no more).
    """

    text = StringProperty("")
    font_size = NumericProperty(20)
    bold = BooleanProperty(False)
    wrap_width = NumericProperty(0)
    color = ListProperty([1, 1, 1, 1])
    texture = ObjectProperty(None, allownone=True)
    texture_size = ListProperty([0, 0])
    fit_height = BooleanProperty(False)
    # A dark outline in pixels (0: none), for text over the live picture.
    outline_width = NumericProperty(0)

    _cache: ClassVar[dict[tuple, Any]] = {}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        with self.canvas:
            self._color = Color(1, 1, 1, 1)
            self._rect = Rectangle(size=(0, 0))
        self.fbind("text", self._refresh)
        self.fbind("font_size", self._refresh)
        self.fbind("bold", self._refresh)
        self.fbind("wrap_width", self._refresh)
        self.fbind("outline_width", self._refresh)
        self.fbind("pos", self._place)
        self.fbind("size", self._place)
        self.fbind("color", self._recolor)
        self.fbind("fit_height", self._place)
        self._recolor()
        self._refresh()

    def _recolor(self, *_a: Any) -> None:
        self._color.rgba = self.color

    def _refresh(self, *_a: Any) -> None:
        self.texture = self.texture_for(self.text, self.font_size, self.bold, self.wrap_width,
                                        self.outline_width)
        self.texture_size = list(self.texture.size) if self.texture is not None else [0, 0]
        self._place()

    def _place(self, *_a: Any) -> None:
        tex = self.texture
        if self.fit_height and self.size_hint_y is None:
            self.height = self.texture_size[1]
        if tex is None:
            self._rect.texture = None
            self._rect.size = (0, 0)
            return
        w, h = tex.size
        self._rect.texture = tex
        self._rect.size = (w, h)
        self._rect.pos = (int(self.center_x - w / 2), int(self.center_y - h / 2))

    @classmethod
    def texture_for(cls, text: str, font_size: float, bold: bool, wrap_width: float,
                    outline_width: float = 0) -> Any:
        if not text:
            return None
        key = (text, round(float(font_size), 2), bool(bold), int(wrap_width),
               int(outline_width))
        tex = cls._cache.get(key)
        if tex is None:
            opts: dict[str, Any] = {"text": text, "font_size": font_size, "bold": bold,
                                    "halign": "center"}
            if wrap_width:
                opts["text_size"] = (int(wrap_width), None)
            if outline_width:
                opts["outline_width"] = int(outline_width)
                opts["outline_color"] = (0.05, 0.05, 0.06)
            def make(t: str) -> Any:
                label = CoreLabel(**{**opts, "text": t})
                label.resolve_font_name()
                return label

            # Chinese line breaking (no 、 first on a line) on top of Kivy's wrapping.
            core, _size = laid_out(make, text, False)
            core.refresh()
            tex = cls._cache[key] = core.texture
        return tex

    @classmethod
    def warm(cls, texts: list[str], font_size: float, bold: bool = False,
             wrap_width: float = 0, outline_width: float = 0) -> int:
        """Render and upload these texts now (call it while the screen is calm).

        Drawing each texture once into a tiny off-screen buffer makes Kivy fill
        it here rather than in the middle of a later frame.
        """
        textures = [cls.texture_for(t, font_size, bold, wrap_width, outline_width)
                    for t in texts if t]
        fbo = Fbo(size=(4, 4))
        with fbo:
            for tex in textures:
                Rectangle(texture=tex, pos=(0, 0), size=(1, 1))
        fbo.draw()
        return len(textures)
