"""Drive the real app with real touch events: the scripted demo and the UI tests.

A script is a generator run on the UI thread by ``Script``; it yields a number
(wait that many seconds), or a callable (wait until it returns true; a
timeout fails the script). Taps are MotionEvents dispatched through the
window's input queue, exactly as a touch screen's would be.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from kivy.base import EventLoop
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.input.motionevent import MotionEvent

log = logging.getLogger(__name__)
Step = Generator[Any, None, Any]  # yields waits; a step may return a value (order number)


class Touch(MotionEvent):
    """A finger on the screen at window pixel (x, y)."""

    def __init__(self, x: float, y: float) -> None:
        win = EventLoop.window
        super().__init__("script", id(self), {"x": x / (win.width - 1.0),
                                              "y": y / (win.height - 1.0)}, type_id="touch")
        self.profile = ["pos"]
        self.is_touch = True

    def depack(self, args: dict[str, float]) -> None:
        self.sx, self.sy = args["x"], args["y"]
        super().depack(args)


class ScriptFailed(AssertionError):
    pass


def _visible(widget: Any) -> bool:
    seen = set()
    while widget is not None and id(widget) not in seen:  # the Window is its own parent
        seen.add(id(widget))
        if getattr(widget, "opacity", 1) <= 0.01:
            return False
        widget = widget.parent
    return True


class Driver:
    def __init__(self, app: Any, timeout: float = 20.0) -> None:
        self.app = app
        self.timeout = timeout

    # -- finding ----------------------------------------------------------------
    def widgets(self) -> Iterator[Any]:
        yield from self.app.sm.current_screen.walk()
        yield self.app.hotspot

    def find(self, tag: str) -> Any:
        for w in self.widgets():
            if getattr(w, "tag", None) == tag and getattr(w, "opacity", 1) > 0:
                return w
        raise ScriptFailed(f"no widget {tag!r} on screen {self.app.sm.current}")

    def has(self, tag: str) -> bool:
        try:
            self.find(tag)
            return True
        except ScriptFailed:
            return False

    def text(self, tag: str) -> str:
        return str(self.find(tag).text)

    def meant_texts(self) -> list[dict[str, Any]]:
        """Every text the current screen means to show, with where: its widget's box in
        image pixels (x0, y0, x1, y1 from the top left), its colour and tag.

        This is the widget tree's side of a pixel check: a test reads the screenshot
        (OCR) and compares. Invisible widgets (opacity 0 here or above) are left out.
        """
        win_h = Window.height
        found = []
        for w in self.app.sm.current_screen.walk(restrict=True):
            text = getattr(w, "text", None)
            if not isinstance(text, str) or not text.strip() or not _visible(w):
                continue
            x0, y0 = w.to_window(w.x, w.y)
            x1, y1 = w.to_window(w.right, w.top)
            color = list(getattr(w, "color", [1, 1, 1, 1]))
            found.append({"text": text, "tag": getattr(w, "tag", ""),
                          "kind": type(w).__name__, "markup": bool(getattr(w, "markup", False)),
                          "box": [round(x0), round(win_h - y1), round(x1), round(win_h - y0)],
                          "color": [round(c, 3) for c in color]})
        return found

    def tagged_boxes(self) -> list[dict[str, Any]]:
        """Boxes of the visible tagged widgets (image pixels from the top left)."""
        win_h = Window.height
        out = []
        for w in self.app.sm.current_screen.walk(restrict=True):
            if getattr(w, "tag", "") and _visible(w):
                x0, y0 = w.to_window(w.x, w.y)
                x1, y1 = w.to_window(w.right, w.top)
                out.append({"tag": w.tag, "box": [round(x0), round(win_h - y1), round(x1),
                                                  round(win_h - y0)]})
        return out

    # -- acting (generators: use with ``yield from``) -------------------------------
    def tap(self, tag: str, hold: float = 0.0) -> Step:
        w = self.find(tag)
        if getattr(w, "disabled", False):
            raise ScriptFailed(f"{tag!r} is disabled on {self.app.sm.current}")
        x, y = w.to_window(*w.center)
        touch = Touch(x, y)
        EventLoop._dispatch_input("begin", touch)  # the same queue a touch screen feeds
        yield hold or 0.05
        touch.move({"x": touch.sx, "y": touch.sy})
        EventLoop._dispatch_input("end", touch)
        yield 0.05

    def long_press(self, tag: str, seconds: float) -> Step:
        yield from self.tap(tag, hold=seconds)

    def keys(self, text: str) -> Step:
        """Type like a USB keyboard-wedge scanner: fast keys, then Enter."""
        for ch in text:
            Window.dispatch("on_key_down", ord(ch), 0, ch, [])
            Window.dispatch("on_key_up", ord(ch), 0)
        Window.dispatch("on_key_down", 13, 40, None, [])
        Window.dispatch("on_key_up", 13, 40)
        yield 0.05

    def wait_state(self, *states: str, timeout: float | None = None) -> Step:
        s = self.app.session
        yield (lambda: s.state in states, timeout or self.timeout,
               lambda: f"wanted state {states}, still {s.state} ({s.notice})")
        yield from self.frames(2)  # let the screen lay out and draw

    def frames(self, n: int) -> Step:
        """Wait until the window has drawn ``n`` more frames: the kv rules and layout
        triggers a change set off run before a frame is drawn."""
        start = Clock.frames_displayed
        yield (lambda: Clock.frames_displayed >= start + n, 5.0, lambda: "frames drawn")

    def wait(self, cond: Callable[[], bool], what: str, timeout: float | None = None) -> Step:
        yield (cond, timeout or self.timeout, lambda: f"timed out waiting for {what}")

    # -- looking ------------------------------------------------------------------
    def grab(self) -> np.ndarray:
        """The window's pixels as an RGB array (top row first).

        Like ``Widget.export_as_image`` but cleared with the window's clear
        colour, which is the screens' background (no rectangle draws it).
        """
        from kivy.core.window import Window
        from kivy.graphics import ClearBuffers, ClearColor, Fbo, Scale, Translate

        root = self.app.root
        parent = root.parent
        index = parent.canvas.indexof(root.canvas) if parent is not None else -1
        if index > -1:
            parent.canvas.remove(root.canvas)
        fbo = Fbo(size=root.size, with_stencilbuffer=True)
        with fbo:
            ClearColor(*Window.clearcolor)
            ClearBuffers()
            Scale(1, -1, 1)
            Translate(-root.x, -root.y - root.height, 0)
        fbo.add(root.canvas)
        try:
            fbo.draw()
            w, h = fbo.texture.size
            rgba = np.frombuffer(fbo.pixels, dtype=np.uint8).reshape(h, w, 4)
        finally:
            fbo.remove(root.canvas)
            if index > -1:
                parent.canvas.insert(index, root.canvas)
        return np.ascontiguousarray(rgba[:, :, :3])

    def screenshot(self, path: Path) -> Path:
        from PIL import Image

        path.parent.mkdir(parents=True, exist_ok=True)
        # Fast deflate: a tenth of the default's time for a slightly larger file.
        Image.fromarray(self.grab()).save(path, compress_level=1)
        return path


class Script:
    """Runs a script generator on the Kivy clock; ``done(error_or_None)`` at the end."""

    running: set[Script] = set()  # Kivy's Clock holds callbacks weakly

    def __init__(self, gen: Step, done: Callable[[BaseException | None], None]) -> None:
        Script.running.add(self)
        self.gen = gen
        self.done = done
        self._until = 0.0
        self._cond: tuple[Callable[[], bool], float, Callable[[], str]] | None = None
        self._ev = Clock.schedule_interval(self._step, 0.02)

    def _finish(self, err: BaseException | None) -> None:
        self._ev.cancel()
        Script.running.discard(self)
        self.done(err)

    def _step(self, _dt: float) -> None:
        now = time.monotonic()
        if self._cond is not None:
            cond, deadline, why = self._cond
            try:
                ok = cond()
            except Exception as exc:
                self._finish(exc)
                return
            if not ok and now <= deadline:
                return
            self._cond = None
            if not ok:  # the script may catch the timeout (e.g. fall back to a button)
                self._advance(lambda: self.gen.throw(ScriptFailed(why())), now)
                return
        elif now < self._until:
            return
        self._advance(lambda: next(self.gen), now)

    def _advance(self, step: Callable[[], Any], now: float) -> None:
        try:
            item = step()
        except StopIteration:
            self._finish(None)
            return
        except BaseException as exc:
            log.error("script failed:\n%s", traceback.format_exc())
            self._finish(exc)
            return
        if isinstance(item, tuple):
            cond, timeout, why = item
            self._cond = (cond, now + timeout, why)
        else:
            self._until = now + float(item or 0)
