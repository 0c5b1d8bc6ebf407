"""Run by ``test_line_breaking.py`` in its own process (one Kivy window per process).

Renders, with the review screen's own code (``screens._report_text``, the items
label's style, ``textrender.render`` as the render thread does), the list of
check items for many reports (every item passed, each one left out in turn, two
near each other left out, the first few left out, and with a warning and a
failure), in Chinese, each at every width given on the command line (the items
label's widths on the real screen). Also renders, alone, each closing mark at
the passed list's size and colour: the shapes the test looks for at the start
of each drawn line. PNGs (RGBA) go into argv[1]; one JSON line on stdout lists
them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

from kiosk.app.launch import configure_kivy, prepare_display

prepare_display(headless=True)
configure_kivy(640, 400, False, multisamples=0)

from kivy.base import EventLoop  # noqa: E402
from kivy.metrics import sp  # noqa: E402
from kivy.utils import get_color_from_hex  # noqa: E402
from PIL import Image  # noqa: E402

from kiosk.app import textrender  # noqa: E402
from kiosk.app.linebreak import NO_LINE_START  # noqa: E402
from kiosk.app.screens import _report_text  # noqa: E402
from kiosk.app.textrender import TextSpec  # noqa: E402
from kiosk.photo.messages import _messages, item_text  # noqa: E402

EventLoop.ensure_window()
out = Path(sys.argv[1])
widths = [int(w) for w in sys.argv[2:]]
ITEMS_COLOR = (0.12, 0.14, 0.18, 1.0)  # screens.kv, the items label
LIST_COLOR = tuple(get_color_from_hex("5a6472"))  # _report_text's passed list


def item(name: str, verdict: str) -> SimpleNamespace:
    zh, en = item_text(name, verdict)
    return SimpleNamespace(name=name, verdict=verdict, zh=zh, en=en)


def save(data: object, path: Path) -> str:
    Image.frombytes("RGBA", (data.width, data.height), bytes(data.data)).save(path)
    return path.name


names = list(_messages()["items"])
reports = {"all": [item(n, "pass") for n in names]}
for i, n in enumerate(names):
    reports[f"without_{n}"] = [item(m, "pass") for j, m in enumerate(names) if j != i]
for i, n in enumerate(names):  # two left out: the breaks fall elsewhere in the list
    for m in names[i + 1:i + 7]:
        reports[f"without_{n}_{m}"] = [item(x, "pass") for x in names if x not in (n, m)]
for k in range(1, len(names) - 3):  # fewer items passed: shorter lists, other breaks
    reports[f"from_{names[k]}"] = [item(m, "pass") for m in names[k:]]
reports["warn_fail"] = [item(n, "warn" if n == "sharpness" else
                             "fail" if n in ("hair_top", "background") else "pass")
                        for n in names]
texts = []
for w in widths:
    for key, items in reports.items():
        spec = TextSpec(_report_text(items, "zh"), float(sp(20)), ITEMS_COLOR,
                        wrap_width=w, halign="left", markup=True)
        texts.append(save(textrender.render(spec), out / f"list_zh_{w}_{key}.png"))
marks = {}
for n, ch in enumerate(sorted(c for c in NO_LINE_START if ord(c) > 0x2000)):
    data = textrender.render(TextSpec(ch, float(sp(16)), LIST_COLOR))
    if data is not None:
        marks[ch] = save(data, out / f"mark_{n}.png")
print(json.dumps({"texts": texts, "marks": marks}, ensure_ascii=False))
sys.exit(0)
