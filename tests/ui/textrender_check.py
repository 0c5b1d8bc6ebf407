"""Run by ``test_textrender.py`` in its own process (one Kivy window per process).

Renders texts three ways and prints, per text, whether the pixels agree:
a Kivy ``Label`` widget on the UI thread (the reference), ``textrender.render``
on the UI thread, and ``textrender.render`` in another thread while the UI
thread keeps rendering Labels of the same font and size. Prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import threading

from kiosk.app.launch import configure_kivy, prepare_display

prepare_display(headless=True)
configure_kivy(640, 400, False, multisamples=0)

from kivy.base import EventLoop  # noqa: E402
from kivy.core.window import Window  # noqa: E402
from kivy.uix.label import Label  # noqa: E402

from kiosk.app import textrender  # noqa: E402
from kiosk.app.textrender import TextSpec  # noqa: E402

EventLoop.ensure_window()
ITEMS = ("×  头顶到照片上沿 12 px，应为 20–60 px\n⚠  清晰度 0.41，建议 ≥ 0.5\n\n"
         "✓  以下 3 项合格：[size=16sp][color=5a6472]\n背景、光照、表情[/color][/size]")
SPECS = [
    TextSpec("照片不符合要求，请重拍", 28.0, (0.75, 0.1, 0.1, 1.0), wrap_width=420),
    TextSpec("The photo does not meet the standard; please retake", 28.0,
             (0.05, 0.5, 0.2, 1.0), wrap_width=420),
    TextSpec(ITEMS, 20.0, (0.12, 0.14, 0.18, 1.0), wrap_width=420, halign="left", markup=True),
    TextSpec("份数：2", 22.0, (0.12, 0.14, 0.18, 1.0), bold=True),
]


def reference(spec: TextSpec) -> bytes:
    """What a Kivy Label widget with these properties draws."""
    kw = dict(text=spec.text, font_size=spec.font_size, color=spec.color, bold=spec.bold,
              halign=spec.halign, markup=spec.markup, valign="top")
    if spec.wrap_width:
        kw["text_size"] = (spec.wrap_width, None)
    label = Label(**kw)
    label.texture_update()
    return bytes(label.texture.pixels)


def uploaded(data) -> bytes:
    return bytes(textrender.upload(data).pixels)


refs = [reference(s) for s in SPECS]
same_here = [uploaded(textrender.render(s)) == r for s, r in zip(SPECS, refs, strict=True)]
# In a thread, 30 times over, while this thread renders Labels of the same faces.
got: list = []


def work() -> None:
    for _ in range(30):
        got.append([textrender.render(s) for s in SPECS])


t = threading.Thread(target=work)
t.start()
while t.is_alive():
    for s in SPECS:
        reference(s)
t.join()
same_thread = all(uploaded(d) == r for run in got for d, r in zip(run, refs, strict=True))
ink = [sum(1 for a in r[3::4] if a > 128) for r in refs]  # opaque pixels of each text
print(json.dumps({"ink": ink, "same_on_ui_thread": same_here, "same_from_thread": same_thread,
                  "runs": len(got), "sizes": [list(textrender.upload(d).size)
                                              for d in got[0]]}))
Window.close()
sys.exit(0)
