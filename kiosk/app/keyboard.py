"""An on-screen keyboard for the e-mail form: a booth has no physical keyboard.

Two layouts: ``name`` (letters, space, - ' .; names are written in pinyin, the
session capitalises them) and ``address`` (digits, letters, @ . - _ + and
shortcut keys such as ``@qq.com`` from ``ui.keyboard.email_shortcuts``). Keys
only call ``on_text(text)`` / ``on_backspace()``; what may be typed where is the
session's business. Each key carries a ``tag`` (``kb_a``, ``kb_@qq.com``,
``kb_space``, ``kb_backspace``) so scripts and tests tap it like a finger.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kivy.metrics import dp
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button

ROWS = {
    "name": ["qwertyuiop", "asdfghjkl", "zxcvbnm"],
    "address": ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"],
}
EXTRA = {"name": ["-", "'", "."], "address": ["@", ".", "-", "_", "+"]}
KEY_BG = (0.93, 0.95, 0.98, 1)
SPECIAL_BG = (0.82, 0.86, 0.92, 1)


def tag_for(text: str) -> str:
    """The tag of the key that types ``text`` (scripts tap keys by tag)."""
    return "kb_space" if text == " " else f"kb_{text}"


class OnScreenKeyboard(BoxLayout):
    layout = StringProperty("")

    def __init__(self, **kw: object) -> None:
        kw.setdefault("orientation", "vertical")
        kw.setdefault("spacing", dp(6))
        super().__init__(**kw)
        self.on_text: Callable[[str], None] = lambda _t: None
        self.on_backspace: Callable[[], None] = lambda: None
        self.shortcuts: Sequence[str] = ()
        self.words: dict[str, str] = {"space": "Space", "backspace": "←"}
        self._made: dict[str, list[BoxLayout]] = {}

    def prepare(self, layout: str, shortcuts: Sequence[str], words: dict[str, str]) -> str:
        """Make ``layout``'s keys if not made yet (e.g. while the welcome screen is idle)."""
        key = f"{layout}|{'|'.join(shortcuts)}|{sorted(words.items())}"
        if key not in self._made:
            self.shortcuts, self.words = tuple(shortcuts), dict(words)
            self._made[key] = self._make(layout)
        return key

    def show(self, layout: str, shortcuts: Sequence[str], words: dict[str, str]) -> None:
        """Show ``layout``; each layout's rows are made once and re-parented afterwards
        (making some 45 Buttons stalls the UI thread for a noticeable moment)."""
        key = self.prepare(layout, shortcuts, words)
        if key == self.layout:
            return
        self.layout = key
        self.clear_widgets()
        for row in self._made[key]:
            self.add_widget(row)

    def _make(self, layout: str) -> list[BoxLayout]:
        upper = layout == "name"
        rows = [self._row([(ch, ch.upper() if upper else ch) for ch in row])
                for row in ROWS[layout]]
        last = [(ch, ch) for ch in EXTRA[layout]]
        if layout == "name":
            last.append((" ", self.words["space"]))
        rows.append(self._row(last, backspace=True))
        if layout == "address" and self.shortcuts:
            rows.append(self._row([(s, s) for s in self.shortcuts], font="20sp"))
        return rows

    def _row(self, keys: list[tuple[str, str]], backspace: bool = False,
             font: str = "24sp") -> BoxLayout:
        row = BoxLayout(spacing=dp(6))
        for text, label in keys:
            wide = 3 if text == " " else 1
            btn = Button(text=label, font_size=font, background_normal="",
                         background_color=KEY_BG, color=(0.1, 0.1, 0.1, 1),
                         size_hint_x=wide)
            btn.tag = tag_for(text)
            btn.bind(on_release=lambda _b, t=text: self.on_text(t))
            row.add_widget(btn)
        if backspace:
            btn = Button(text=self.words["backspace"], font_size="22sp", background_normal="",
                         background_color=SPECIAL_BG, color=(0.1, 0.1, 0.1, 1), size_hint_x=2)
            btn.tag = "kb_backspace"
            btn.bind(on_release=lambda _b: self.on_backspace())
            row.add_widget(btn)
        return row
