"""The master keeps its geometry through a PNG; prints are cut with their own aspect and head size."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kiosk.photo.master import load_master, save_master
from kiosk.photo.prints import cut_print

from .measure import landmarks


def test_master_round_trip(made, tmp_path: Path) -> None:
    master = made["asian_girl_indoor.jpg"].master
    assert master.image.size == (1200, 1600)
    path = save_master(master, tmp_path / "m.png")
    back = load_master(path)
    assert back.image.size == (1200, 1600)
    for key, value in master.geometry.items():
        assert abs(back.geometry[key] - value) < 0.01
    # The recorded eye line is where the eyes really are in the master.
    _, pts = landmarks(np.asarray(back.image))
    assert abs((pts[468, 1] + pts[473, 1]) / 2 - back.geometry["eye_y"]) < 12


def test_prints_have_their_own_size_and_head(made) -> None:
    from kiosk.photo.spec import load_print_sizes

    from .measure import decode

    result = made["asian_girl_indoor.jpg"]
    _, up = landmarks(decode(result.jpeg))
    upload_share = (up[152, 1] - up[10, 1]) / 640
    sizes = load_print_sizes()
    for name in ("1寸", "2寸"):
        img = cut_print(result.master, name)
        assert img.size == sizes[name].pixels and img.info["dpi"] == (300, 300)
        _, pts = landmarks(np.asarray(img))
        assert pts is not None
        w, h = img.size
        assert abs((pts[234, 0] + pts[454, 0]) / 2 - w / 2) < 0.05 * w  # centred
        # Not a resize of the 3:4 upload: its own aspect, and the head fills more of it,
        # in proportion to the size's configured head ratio.
        share = (pts[152, 1] - pts[10, 1]) / h
        expected = (
            upload_share
            * sizes[name].head_ratio
            / (
                (result.master.geometry["chin_y"] - result.master.geometry["crown_y"])
                / result.master.image.size[1]
            )
        )
        assert share > upload_share * 1.05 and abs(share - expected) < 0.03, (
            share,
            expected,
            upload_share,
        )
