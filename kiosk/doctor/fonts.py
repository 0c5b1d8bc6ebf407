"""The screen's and the sheets' font draws the Simplified Chinese the booth shows."""

from __future__ import annotations

from typing import Any

from kiosk.doctor import FAIL, OK, CheckResult
from kiosk.words import catalogue

HINT = "apt install fonts-noto-cjk (or fonts-wqy-microhei), then `python -m kiosk.fonts --ensure`"


def check(settings: Any) -> CheckResult:
    from fontTools.ttLib import TTFont

    from kiosk.fonts import font_path

    path = font_path(ensure=False)
    if path is None:
        return CheckResult("fonts", FAIL, "no font with Simplified Chinese glyphs", HINT)
    kwargs = {"fontNumber": 0} if str(path).endswith(".ttc") else {}
    font = TTFont(str(path), lazy=True, **kwargs)
    cmap = font.getBestCmap() or {}
    sample = str(settings.get("doctor.fonts.sample") or catalogue("doctor")["font_sample"])
    missing = sorted({ch for ch in sample if not ch.isspace() and ord(ch) not in cmap})
    if missing:
        return CheckResult("fonts", FAIL, f"{path.name} lacks {''.join(missing)}", HINT)
    return CheckResult("fonts", OK, f"{path} has all {len(set(sample))} sample glyphs")
