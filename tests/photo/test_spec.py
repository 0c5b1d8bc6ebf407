"""The spec is data; a wrong value stops loading and names the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.errors import ConfigError
from kiosk.photo.spec import SPECS_DIR, load_print_sizes, load_spec, parse_spec


def test_chsi_spec_values() -> None:
    s = load_spec("chsi_graduation")
    assert (s.width, s.height, s.dpi) == (480, 640, 300)
    assert s.min_quality >= 60
    assert (s.size_min_kb, s.size_max_kb) == (20, 40)
    # "20-40 KB" whichever way an uploader reads KB (1,000 or 1,024 bytes).
    assert (s.size_min_bytes, s.size_max_bytes) == (20_480, 40_000)
    assert s.bg_rgb == (100, 197, 255)
    assert s.colours["white"] == (255, 255, 255) and s.colours["grey"] == (240, 240, 240)
    assert s.hair_top == (50, 110) and s.eye_line == (200, 300) and s.face_width == (180, 300)


def test_print_sizes_in_pixels() -> None:
    sizes = load_print_sizes()
    assert sizes["1寸"].pixels == (295, 413)
    assert sizes["2寸"].pixels == (413, 579)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("eye_line = [200, 300]", "eye_line = [300, 200]", "geometry.eye_line"),
        ("min_quality = 60", 'min_quality = "60"', "image.min_quality"),
        ("blue = [100, 197, 255]", "blue = [100, 197, 256]", "background.colours.blue"),
        ('default = "blue"', 'default = "pink"', "background.default"),
        ("size_max_kb = 40", "size_max_kb = 10", "image.size_max_kb"),
    ],
)
def test_bad_value_names_file_and_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    text = (SPECS_DIR / "chsi_graduation.toml").read_text(encoding="utf-8")
    assert old in text
    bad = tmp_path / "broken.toml"
    bad.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        parse_spec(bad)
    assert str(bad) in err.value.detail and f"'{key}'" in err.value.detail


def test_missing_key_is_named(tmp_path: Path) -> None:
    text = (SPECS_DIR / "chsi_graduation.toml").read_text(encoding="utf-8")
    bad = tmp_path / "short.toml"
    bad.write_text(text.replace("mouth_open_max = 0.15", ""), encoding="utf-8")
    with pytest.raises(ConfigError, match="pose.mouth_open_max"):
        parse_spec(bad)


def test_booth_overrides_background_and_size_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('[photo]\nbackground = "white"\nsize_min_kb = 30\n')
    monkeypatch.setenv("KIOSK_CONFIG", str(cfg))
    from kiosk.settings import load_settings
    from kiosk.wiring import photo_spec

    s = photo_spec(load_settings(), "chsi_graduation")
    assert s.bg_rgb == (255, 255, 255) and (s.size_min_bytes, s.size_max_bytes) == (30_720, 40_000)
    # Only the program that parsed the settings applies them: the spec itself is the file's.
    own = load_spec("chsi_graduation")
    assert (own.size_min_bytes, own.background) != (30_720, "white")
