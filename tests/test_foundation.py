"""The shared basics: configuration errors name file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.errors import ConfigError
from kiosk.redact import code_ref, mask_name, scrub
from kiosk.settings import parse_settings


def test_unknown_key_is_named_with_its_line(tmp_path: Path) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('[paths]\n# comment\nstate_dri = "/x"\n')
    with pytest.raises(ConfigError) as err:
        parse_settings([cfg])
    assert f"{cfg}:3" in err.value.detail and "paths.state_dri" in err.value.detail


def test_wrong_type_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text("[paths]\nstate_dir = 5\n")
    with pytest.raises(ConfigError, match="must be str"):
        parse_settings([cfg])


def test_override_applies(tmp_path: Path) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('[paths]\nstate_dir = "/srv/kiosk"\n')
    assert parse_settings([cfg]).get("paths.state_dir") == "/srv/kiosk"


def test_code_ref_hides_the_code() -> None:
    code = "A1B2C3D4E5F6G7H8"
    ref = code_ref(code)
    assert code not in ref and ref == code_ref(code) and ref != code_ref(code + "X")
    assert mask_name("吴小明") == "吴**"


def test_scrub_hides_codes_and_ids_but_keeps_words() -> None:
    line = "The camera configuration is unavailable for K7Q2ZP9M4RTX and 44010119990101123X"
    out = scrub(line)
    assert "K7Q2ZP9M4RTX" not in out and "44010119990101123X" not in out
    assert out.startswith("The camera configuration is unavailable for c:")
    assert scrub("ABCDEFGHJKLMNP") != "ABCDEFGHJKLMNP"  # an all-capitals code


def test_options_dataclass_follows_the_config(tmp_path: Path) -> None:
    from dataclasses import dataclass

    from kiosk.wiring import fill

    @dataclass
    class Opts:
        size: int = 1
        ratio: float = 0.5
        name: str = "a"

    assert fill(Opts, {"size": 3.0, "ratio": 2, "other": 9}) == Opts(3, 2.0, "a")
