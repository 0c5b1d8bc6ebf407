"""Chinese line breaking (kinsoku) on top of Kivy's own text layout.

Kivy wraps a text only at spaces; a run without spaces (a Chinese sentence, the
review screen's list of passed items joined by 、) wider than the label is cut
after the last character that fits. So a line could start with 、 or ，, which
a Chinese reader sees as a typesetting error (GB/T 15834: closing punctuation
never starts a line, an opening bracket never ends one).

``laid_out`` lets Kivy lay the text out, looks at each line it made by wrapping
(not at a line the text itself ends), and where a line would start with a
closing mark or the one before it end with an opening bracket, it breaks the
text one character earlier with an explicit newline (the character before the
mark goes down with it, 「push-out」), then lets Kivy lay it out again. Lines
that already obey the rules come out exactly as Kivy made them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Typographic rules, not words: marks that close (never first on a line) and
# brackets that open (never last on a line), full-width and their ASCII twins.
NO_LINE_START = frozenset("、。，．；：？！）」』〉》】〕〗〙〛］｝’”…‥·・%％,.;:?!)]}")
NO_LINE_END = frozenset("（「『〈《【〔〖〘〚［｛‘“([{")
MAX_PASSES = 64  # each pass fixes one break; a label has far fewer lines
_TAGS = ("b", "i", "u", "s", "sub", "sup", "size", "color", "font", "font_family",
         "font_context", "font_features", "text_language", "ref", "anchor")
_ESCAPES = {"&bl;": "[", "&br;": "]", "&amp;": "&"}


def _visible(text: str, markup: bool) -> list[tuple[str, int]]:
    """The characters drawn, each with its index in ``text`` (markup tags left out)."""
    out: list[tuple[str, int]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if markup and ch == "[":
            end = text.find("]", i)
            name = text[i + 1:end].lstrip("/").split("=", 1)[0] if end > 0 else ""
            if name in _TAGS:
                i = end + 1
                continue
        if markup and ch == "&":
            esc = next((e for e in _ESCAPES if text.startswith(e, i)), None)
            if esc is not None:
                out.append((_ESCAPES[esc], i))
                i += len(esc)
                continue
        if ch != "\n":
            out.append((ch, i))
        i += 1
    return out


def _line_starts(lines: list[Any], visible: list[tuple[str, int]]) -> list[int | None]:
    """For each laid-out line, the index in ``visible`` of its first character."""
    starts: list[int | None] = []
    p = 0
    for line in lines:
        first: int | None = None
        for ch in "".join(word.text for word in line.words):
            while p < len(visible) and visible[p][0] != ch:
                p += 1  # a space Kivy dropped at a break
            if p == len(visible):
                break
            if first is None:
                first = p
            p += 1
        starts.append(first)
    return starts


def _bad(visible: list[tuple[str, int]], k: int) -> bool:
    """Whether a line starting at ``visible[k]`` breaks the rules."""
    return visible[k][0] in NO_LINE_START or visible[k - 1][0] in NO_LINE_END


def next_break(text: str, lines: list[Any], markup: bool) -> str | None:
    """``text`` with one explicit newline where Kivy's wrapping broke a rule; None when
    no wrapped line does (or no earlier break is possible)."""
    visible = _visible(text, markup)
    starts = _line_starts(lines, visible)
    for n in range(1, len(lines)):
        b, a = starts[n], starts[n - 1]
        if b is None or a is None or getattr(lines[n - 1], "is_last_line", False):
            continue  # an empty line, or a break the text itself makes
        if b == 0 or not _bad(visible, b):
            continue
        k = b - 1
        while k > a + 1 and _bad(visible, k):
            k -= 1
        if k <= a or _bad(visible, k):
            continue  # the whole line is marks: leave it as Kivy made it
        at = visible[k][1]
        return text[:at] + "\n" + text[at:]
    return None


def laid_out(make: Callable[[str], Any], text: str,
             markup: bool) -> tuple[Any, tuple[int, int]]:
    """A core label of ``make(text)`` after its layout pass, and the size that pass
    gave (``render()``), its text broken by the rules above; ``make`` builds a core
    label (font name resolved) for a given text."""
    core = make(text)
    size = core.render()
    wrapped = bool((core.options.get("text_size") or (None, None))[0])
    for _ in range(MAX_PASSES if wrapped else 0):  # unwrapped: every break is the text's
        fixed = next_break(text, core._cached_lines, markup)
        if fixed is None:
            break
        text = fixed
        core = make(text)
        size = core.render()
    return core, size
