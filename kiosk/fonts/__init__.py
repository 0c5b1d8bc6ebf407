"""A font with Simplified Chinese glyphs for Kivy and for printed sheets.

Kivy opens the first face of a ``.ttc``; in Noto CJK that face is the Japanese
one, whose glyph forms differ from Simplified Chinese. So the SC face is
extracted once into a single ``.otf`` (fontTools), with WenQuanYi Micro Hei
as the fallback when Noto CJK is not installed.
"""

from __future__ import annotations

from pathlib import Path

from kiosk.paths import cache_dir

NOTO_TTC = [
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
]
WQY = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
SC_FAMILY = "Noto Sans CJK SC"


def _sc_face_index(ttc: Path) -> int | None:
    from fontTools.ttLib import TTCollection

    coll = TTCollection(str(ttc), lazy=True)
    for i, font in enumerate(coll.fonts):
        if font["name"].getDebugName(1) == SC_FAMILY:
            return i
    return None


def extract_sc(ttc: Path, out: Path) -> Path | None:
    from fontTools.ttLib import TTFont

    index = _sc_face_index(ttc)
    if index is None:
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    TTFont(str(ttc), fontNumber=index, lazy=False).save(str(tmp))
    tmp.replace(out)
    return out


def font_path(weight: str = "Regular", ensure: bool = True) -> Path | None:
    """Path of a single-face font with SC glyphs, or None when none is installed."""
    target = cache_dir() / "fonts" / f"NotoSansCJKsc-{weight}.otf"
    if target.exists():
        return target
    ttc = next((p for p in NOTO_TTC if weight in p.name and p.exists()), None)
    if ttc and ensure:
        try:
            if extract_sc(ttc, target):
                return target
        except OSError:
            pass
    return WQY if WQY.exists() else None


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m kiosk.fonts")
    parser.add_argument("--ensure", action="store_true", help="extract the SC faces now")
    args = parser.parse_args(argv)
    found = [font_path(w, ensure=args.ensure) for w in ("Regular", "Bold")]
    for path in found:
        print(path or "no Simplified Chinese font installed (apt install fonts-noto-cjk)")
    return 0 if all(found) else 1
