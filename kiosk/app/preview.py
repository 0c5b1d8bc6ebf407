"""The live preview: one texture updated in place, mirrored on screen only.

The camera thread already downscaled the frame to about the displayed size;
here it is one ``blit_buffer`` (RGBA bytes) per new frame and nothing else: no
widget is created or removed per frame. Mirroring and the bottom-up GL origin
are texture coordinate flips, so the pixels themselves are never changed.
Each frame goes into a new texture: with a software GL (Mesa llvmpipe) writing
into a texture that frames still in flight draw from waits until they are
rasterized, which blocked the UI thread for tens of milliseconds per frame (and
two textures taking turns still waited when the renderer fell two frames behind).
The standard's bands (hair top 50–110 px, eye line 200–300 px of 640) and a
face outline are drawn over a 3:4 box, the part of the frame the photo is cut from.
"""

from __future__ import annotations

from kivy.graphics import Color, Ellipse, Line, Rectangle
from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, NumericProperty
from kivy.uix.widget import Widget

# The standard, in pixels of the 480×640 photo (DOMAIN.md §4).
PHOTO_W, PHOTO_H = 480, 640
HAIR_BAND = (50, 110)
EYE_BAND = (200, 300)
FACE_W = 240
CROWN, CHIN = 80, 470


class Preview(Widget):
    mirror = BooleanProperty(True)
    guides = BooleanProperty(True)
    frames_shown = NumericProperty(0)

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)
        self._seq = -1
        self._frame_size = (16, 9)
        with self.canvas:
            # The letterbox around the image only: the image covers the rest, and
            # each pixel filled twice costs CPU with a software renderer.
            Color(0.12, 0.12, 0.14, 1)
            self._bg = [Rectangle() for _ in range(4)]
            self._color = Color(1, 1, 1, 1)
            self._rect = Rectangle()
        with self.canvas.after:
            self._guide_color = Color(1, 1, 1, 0)
            self._hair = Rectangle()
            self._eye = Rectangle()
            self._line_color = Color(1, 1, 1, 0)
            self._outline = Line(width=2.5)
            self._box = Line(width=1.5)
            self._shade = Color(0, 0, 0, 0)
            self._shade_l = Rectangle()
            self._shade_r = Rectangle()
        self.bind(pos=self._layout, size=self._layout, guides=self._layout)

    def show(self, frame: object) -> bool:
        """Upload ``frame`` (kiosk.services.frames.Frame) if it is new; True when shown."""
        if frame is None or frame.seq == self._seq:
            return False
        self._seq = frame.seq
        pixels = frame.rgba if getattr(frame, "rgba", None) is not None else frame.rgb
        fmt = "rgba" if pixels.shape[2] == 4 else "rgb"
        h, w = pixels.shape[:2]
        tex = self._make_texture(w, h, fmt)
        if self._frame_size != (w, h):
            self._frame_size = (w, h)
            self._layout()
        tex.blit_buffer(pixels.tobytes(), colorfmt=fmt, bufferfmt="ubyte")
        self._rect.texture = tex
        self.canvas.ask_update()
        self.frames_shown += 1
        return True

    def _make_texture(self, w: int, h: int, fmt: str) -> Texture:
        tex = Texture.create(size=(w, h), colorfmt=fmt)
        tex.flip_vertical()  # numpy rows run top-down, GL bottom-up
        if self.mirror:
            tex.flip_horizontal()  # a mirror for the student; the data stays as shot
        return tex

    def on_mirror(self, *_a: object) -> None:
        self._seq = -1  # the next frame is shown with the new flip

    def clear(self) -> None:
        self._seq = -1

    def image_box(self) -> tuple[float, float, float, float]:
        fw, fh = self._frame_size
        scale = min(self.width / fw, self.height / fh) if fw and fh else 1
        w, h = fw * scale, fh * scale
        return self.x + (self.width - w) / 2, self.y + (self.height - h) / 2, w, h

    def photo_box(self) -> tuple[float, float, float, float]:
        x, y, w, h = self.image_box()
        bh = h * 0.92
        bw = bh * PHOTO_W / PHOTO_H
        return x + (w - bw) / 2, y + (h - bh) / 2, bw, bh

    def _layout(self, *_a: object) -> None:
        x, y, w, h = self.image_box()
        left, bottom, right, top = self.x, self.y, self.right, self.top
        strips = ((left, bottom, self.width, y - bottom), (left, y + h, self.width, top - y - h),
                  (left, y, x - left, h), (x + w, y, right - x - w, h))
        for rect, (sx, sy, sw, sh) in zip(self._bg, strips, strict=True):
            rect.pos, rect.size = (sx, sy), (max(0, sw), max(0, sh))
        self._rect.pos, self._rect.size = (x, y), (w, h)
        bx, by, bw, bh = self.photo_box()
        top = by + bh
        k = bh / PHOTO_H
        alpha = 1 if self.guides else 0
        self._guide_color.rgba = (1.0, 0.85, 0.2, 0.28 * alpha)
        self._line_color.rgba = (1, 1, 1, 0.9 * alpha)
        self._shade.rgba = (0, 0, 0, 0.35 * alpha)
        self._hair.pos = (bx, top - HAIR_BAND[1] * k)
        self._hair.size = (bw, (HAIR_BAND[1] - HAIR_BAND[0]) * k)
        self._eye.pos = (bx, top - EYE_BAND[1] * k)
        self._eye.size = (bw, (EYE_BAND[1] - EYE_BAND[0]) * k)
        fw = FACE_W * k * 1.1
        self._outline.ellipse = (bx + (bw - fw) / 2, top - CHIN * k, fw, (CHIN - CROWN) * k)
        self._box.rectangle = (bx, by, bw, bh)
        self._shade_l.pos, self._shade_l.size = (x, y), (max(0, bx - x), h)
        self._shade_r.pos, self._shade_r.size = (bx + bw, y), (max(0, x + w - bx - bw), h)


class Dot(Widget):
    """A filled circle (keypad entry boxes, status lights)."""

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)
        with self.canvas:
            self._c = Color(0.6, 0.6, 0.6, 1)
            self._e = Ellipse()
        self.bind(pos=self._up, size=self._up)

    def _up(self, *_a: object) -> None:
        d = min(self.width, self.height)
        self._e.pos = (self.center_x - d / 2, self.center_y - d / 2)
        self._e.size = (d, d)

    def set_color(self, rgba: tuple[float, float, float, float]) -> None:
        self._c.rgba = rgba
