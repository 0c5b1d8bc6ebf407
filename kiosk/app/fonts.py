"""Make the Simplified Chinese face Kivy's default font (before any Label exists)."""

from __future__ import annotations

from kiosk.fonts import font_path


def register_default_font() -> str | None:
    from kivy.core.text import DEFAULT_FONT, LabelBase

    regular = font_path("Regular")
    if regular is None:
        return None
    bold = font_path("Bold") or regular
    LabelBase.register(DEFAULT_FONT, str(regular), fn_bold=str(bold))
    return str(regular)
