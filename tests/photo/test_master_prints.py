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
    master = made["asian_girl_indoor.jpg"].master
    one, two = cut_print(master, "1寸"), cut_print(master, "2寸")
    assert one.size == (295, 413) and two.size == (413, 579)
    assert one.info["dpi"] == (300, 300)
    for img in (one, two):
        _, pts = landmarks(np.asarray(img))
        assert pts is not None
        w = img.size[0]
        assert abs((pts[234, 0] + pts[454, 0]) / 2 - w / 2) < 0.05 * w  # centred
        # Not a resize of the 3:4 photo: the head fills a different share of the height.
        head_share = (pts[152, 1] - pts[10, 1]) / img.size[1]
        assert 0.3 < head_share < 0.6
