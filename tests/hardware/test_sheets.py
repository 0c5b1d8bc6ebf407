"""Reprint sheets: exact paper size, pixels 1:1, pieces cut with their own aspect, cut marks."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from kiosk.photo.master import Master, save_master
from kiosk.photo.prints import cut_print
from kiosk.sheets import load_layout, render_sheet

PIECE_PX = {"1寸": (295, 413), "2寸": (413, 579)}


@pytest.fixture(scope="module")
def master() -> Master:
    """A drawn 1200×1600 master with a known head: cheap, and every piece is recognisable."""
    image = Image.new("RGB", (1200, 1600), (100, 197, 255))
    d = ImageDraw.Draw(image)
    d.ellipse((380, 300, 820, 900), fill=(230, 190, 160))  # head, crown 300, chin 900
    d.rectangle((250, 1000, 950, 1600), fill=(20, 20, 40))  # shoulders
    d.rectangle((480, 540, 540, 580), fill=(0, 0, 0))  # left eye (image left)
    d.rectangle((660, 540, 720, 580), fill=(0, 0, 0))
    geometry = {"eye_y": 560, "crown_y": 300, "chin_y": 900, "face_cx": 600, "face_width": 440}
    return Master(image, geometry)


@pytest.mark.parametrize(("number", "counts"), [(1, {"1寸": 8, "2寸": 4}), (2, {"2寸": 8})])
def test_layouts_hold_the_right_pieces_on_the_paper(number: int, counts: dict) -> None:
    layout = load_layout(number)
    assert layout.pixels == (1800, 1200) and layout.dpi == 300
    assert {s: layout.count(s) for s in counts} == counts and len(layout.pieces) == sum(
        counts.values())
    for p in layout.pieces:
        w, h = PIECE_PX[p.size]
        assert (p.width, p.height) == ((h, w) if p.rotate else (w, h))
        assert p.x >= 0 and p.y >= 0 and p.x + p.width <= 1800 and p.y + p.height <= 1200


@pytest.mark.parametrize("number", [1, 2])
def test_every_piece_is_the_print_cut_for_its_size(master: Master, number: int) -> None:
    sheet = render_sheet(master, number, cut_marks=False)
    assert sheet.image.size == (1800, 1200) and sheet.image.mode == "RGB"
    page = np.asarray(sheet.image)
    cuts = {s: np.asarray(cut_print(master, s)) for s in PIECE_PX}
    for p in sheet.layout.pieces:
        want = cuts[p.size] if not p.rotate else np.rot90(cuts[p.size])  # CCW, as on the paper
        got = page[p.y : p.y + p.height, p.x : p.x + p.width]
        assert np.array_equal(got, want)
    # Each size has its own head share (config/specs/print_sizes.toml), not a resize.
    shares = {}
    for size, img in cuts.items():
        skin = (np.abs(img.astype(int) - (230, 190, 160)).sum(axis=2) < 30).any(axis=1)
        rows = np.nonzero(skin)[0]
        shares[size] = (rows[-1] - rows[0] + 1) / img.shape[0]
    from kiosk.photo.spec import load_print_sizes

    sizes = load_print_sizes()
    for size, share in shares.items():
        assert share == pytest.approx(sizes[size].head_ratio, abs=0.02), size


def test_pieces_are_never_mirrored(master: Master) -> None:
    mirrored = Master(master.image.transpose(Image.Transpose.FLIP_LEFT_RIGHT), master.geometry)
    a = np.asarray(render_sheet(master, 2).image)
    b = np.asarray(render_sheet(mirrored, 2).image)
    p = load_layout(2).pieces[0]
    piece_a = a[p.y : p.y + p.height, p.x : p.x + p.width]
    piece_b = b[p.y : p.y + p.height, p.x : p.x + p.width]
    assert np.array_equal(piece_a[:, ::-1], piece_b)


def test_cut_marks_sit_in_the_gaps_only(master: Master) -> None:
    plain = np.asarray(render_sheet(master, 1, cut_marks=False).image).astype(int)
    marked = np.asarray(render_sheet(master, 1, cut_marks=True).image).astype(int)
    diff = np.abs(plain - marked).sum(axis=2) > 0
    assert diff.sum() > 500  # marks were drawn
    inside = np.zeros_like(diff)
    for p in load_layout(1).pieces:
        inside[p.y : p.y + p.height, p.x : p.x + p.width] = True
    assert not (diff & inside).any(), "a cut mark touches a photo"
    ys, xs = np.nonzero(diff)
    assert (marked[ys, xs] == marked[ys, xs][:, :1]).all()  # grey, not coloured
    # a mark continues the top edge of the first piece into the margin on its left
    p = load_layout(1).pieces[0]
    assert diff[p.y, p.x - 10]


def test_pdf_is_exactly_the_paper_with_the_pixels_one_to_one(master, tmp_path: Path) -> None:
    sheet = render_sheet(master, 1, cut_marks=True)
    pdf = sheet.save(tmp_path / "sheet.pdf")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Page size:\s+432 x 288 pts", info), info
    assert re.search(r"Pages:\s+1\n", info), info
    images = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True,
                            check=True).stdout.splitlines()[2:]
    assert len(images) == 1
    cols = images[0].split()
    assert cols[3:5] == ["1800", "1200"] and cols[12:14] == ["300", "300"]
    data = pdf.read_bytes()
    assert b"/MediaBox [0 0 432 288]" in data and b"/PrintScaling /None" in data
    assert sheet.jpeg() in data  # the very JPEG that is saved as the .jpg
    subprocess.run(["pdftoppm", "-r", "300", "-png", "-singlefile", str(pdf), str(tmp_path / "r")],
                   check=True)
    with Image.open(tmp_path / "r.png") as raster:
        assert raster.size == (1800, 1200)


def test_jpeg_is_300_dpi(master: Master, tmp_path: Path) -> None:
    path = render_sheet(master, 2).save(tmp_path / "sheet.jpg")
    with Image.open(path) as im:
        assert im.size == (1800, 1200) and im.format == "JPEG"
        assert tuple(round(v) for v in im.info["dpi"]) == (300, 300)
    with pytest.raises(ValueError):
        render_sheet(master, 2).save(tmp_path / "sheet.gif")


def test_bad_layouts_are_refused(tmp_path: Path) -> None:
    from kiosk.errors import ConfigError, KioskError

    (tmp_path / "3.toml").write_text(
        'name = "x"\npage_width_mm = 152.4\npage_height_mm = 101.6\n'
        '[[blocks]]\nsize = "2寸"\ncols = 5\nrows = 2\nx = 0\ny = 0\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="runs off"):
        load_layout(3, tmp_path)
    with pytest.raises(KioskError) as info:
        load_layout(9)
    assert info.value.code == "unknown_layout"


def test_cli_sheet_from_a_saved_master(master: Master, tmp_path: Path) -> None:
    from kiosk.cli import main

    path = save_master(master, tmp_path / "m.png")
    assert main(["sheet", str(path), "--layout", "2", "-o", str(tmp_path / "s.pdf")]) == 0
    assert (tmp_path / "s.pdf").read_bytes().startswith(b"%PDF-1.4")
    assert main(["sheet", str(path), "--layout", "1", "--cut-marks",
                 "-o", str(tmp_path / "s.jpg")]) == 0
    (tmp_path / "not-a-master.png").write_bytes(b"nope")
    assert main(["sheet", str(tmp_path / "not-a-master.png"), "--layout", "1",
                 "-o", str(tmp_path / "x.pdf")]) == 2
