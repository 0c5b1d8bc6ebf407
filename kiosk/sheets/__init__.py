"""Reprint sheets on 6-inch paper: ``render_sheet(master, layout, cut_marks) -> Sheet``.

``Sheet.image`` is 1800×1200 at 300 dpi; ``Sheet.pdf()`` is a page of exactly
152.4×101.6 mm holding that image pixel for dot; ``Sheet.jpeg()`` the same
image as a 300-dpi JPEG. Layouts are data in ``config/layouts/``.
"""

from kiosk.sheets.layout import Layout, Piece, load_layout
from kiosk.sheets.render import Sheet, render_sheet

__all__ = ["Layout", "Piece", "Sheet", "load_layout", "render_sheet"]
