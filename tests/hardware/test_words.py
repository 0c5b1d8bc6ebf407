"""Every code a driver reports has its words in config/messages/devices.toml."""

from __future__ import annotations

import re
from pathlib import Path

import hardware
from hardware.words import _catalogue, words

ROOT = Path(hardware.__file__).parent


def test_every_code_told_in_words_is_in_the_catalogue() -> None:
    used: set[str] = set()
    for path in ROOT.rglob("*.py"):
        used |= set(re.findall(r"words\(\"([a-z_]+)\"\)", path.read_text(encoding="utf-8")))
    from hardware.printing import reasons

    used |= {code for _p, code, _b in reasons.RULES}
    used |= {reasons.PAUSED, reasons.MISSING, reasons.REFUSING, reasons.OK, reasons.OTHER}
    assert used, "no words found: the scan is broken"
    missing = sorted(code for code in used if code not in _catalogue())
    assert not missing, f"codes without words: {missing}"
    for code in used:
        zh, en = words(code)
        assert re.search(r"[\u4e00-\u9fff]", zh) and en.strip(), code


def test_printer_states_speak_the_catalogue() -> None:
    from hardware.printing.reasons import interpret

    state = interpret({"printer-state": 5, "printer-state-reasons": ["media-empty-error"]})
    assert state.code == "out_of_paper" and (state.zh, state.en) == words("out_of_paper")
    assert interpret(None).zh == words("missing")[0]
