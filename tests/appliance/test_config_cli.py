"""`kiosk config`: the commented default documents every key; errors name key and line."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.cli.config import render_defaults
from kiosk.settings import load_defaults


def _uncomment(text: str) -> str:
    """Values are commented as '#key = ...' (no space), documentation as '# text';
    a multi-line value goes on until its brackets close."""
    out, depth = [], 0
    for line in text.splitlines():
        if depth or re.match(r"#[^ #\n]", line):
            line = line[1:]
            depth += line.count("[") + line.count("{") - line.count("]") - line.count("}")
        out.append(line)
    return "\n".join(out)


def test_commented_default_holds_every_key_with_its_default_value():
    text = render_defaults()
    assert tomllib.loads(text) == {}  # all commented: no release ever trips over it
    assert tomllib.loads(_uncomment(text)) == load_defaults()


@pytest.mark.parametrize("section", ["appliance", "doctor", "logging"])
def test_every_appliance_key_has_a_comment(section: str):
    from kiosk.cli.config import render_section
    from kiosk.settings import DEFAULTS_DIR

    text = (DEFAULTS_DIR / f"{section}.toml").read_text(encoding="utf-8")
    lines = render_section(section, text).splitlines()
    for i, line in enumerate(lines):
        if re.match(r"#[A-Za-z_\"]\S* = ", line):
            assert lines[i - 1].startswith("#"), f"key without a comment: {line!r}"


def test_check_passes_on_the_commented_default(tmp_path: Path, capsys: pytest.CaptureFixture):
    cfg = tmp_path / "kiosk.toml"
    assert main(["config", "defaults", "-o", str(cfg)]) == 0
    assert main(["config", "check", str(cfg)]) == 0
    assert "config ok" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("body", "line", "key"),
    [
        ("[doctor]\ntimeout = 5.0\n\n[doctor.disk]\nwarn_mb = \"lots\"\n", 5, "doctor.disk.warn_mb"),
        ("# a comment\n[logging]\nlevle = \"DEBUG\"\n", 3, "logging.levle"),
        ("[appliance]\nkeep_releases = 2\n[appliance.udev]\nscanner_vendors = 5\n", 4,
         "appliance.udev.scanner_vendors"),
    ],
)
def test_check_names_key_and_line(tmp_path: Path, capsys: pytest.CaptureFixture, body, line, key):
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(body, encoding="utf-8")
    assert main(["config", "check", str(cfg)]) == 3
    err = capsys.readouterr().err
    assert f"{cfg}:{line}:" in err and key in err, err


def test_check_reports_a_bad_drop_in(tmp_path: Path, capsys: pytest.CaptureFixture):
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text("[doctor]\ntimeout = 3.0\n", encoding="utf-8")
    (tmp_path / "kiosk.toml.d").mkdir()
    bad = tmp_path / "kiosk.toml.d" / "50-provision.toml"
    bad.write_text("[doctor.clock]\nmin_year = true\n", encoding="utf-8")
    assert main(["config", "check", str(cfg)]) == 3
    assert f"{bad}:2:" in capsys.readouterr().err


def test_show_prints_effective_values(tmp_path, monkeypatch, capsys: pytest.CaptureFixture):
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text("[doctor.outbox]\nwarn_depth = 7\n", encoding="utf-8")
    monkeypatch.setenv("KIOSK_CONFIG", str(cfg))
    assert main(["config", "show"]) == 0
    shown = capsys.readouterr().out
    assert str(cfg) in shown
    data = tomllib.loads(shown)
    assert data["doctor"]["outbox"]["warn_depth"] == 7
    assert data["doctor"]["outbox"]["fail_depth"] == load_defaults()["doctor"]["outbox"]["fail_depth"]
