"""Words live in config/messages and config/i18n, never as Chinese literals in product code.

The rule (issue 12): a student- or operator-facing sentence is data, so a school
changes one TOML file and no code. Checked on the string literals of every
product ``.py`` file (``kiosk``, ``center``, ``hardware``) as written in the
source; docstrings and comments may mention a Chinese term (nobody is shown
them). The second half checks the other direction: every key the code asks for
has its words, so moving a sentence cannot leave a student with a KeyError.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("kiosk", "center", "hardware")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# (file, literal): why it may stay. Keep this short; each entry says why.
ALLOWED = {
    # The words of last resort: a ConfigError is also raised when the message
    # files themselves cannot be read, so its sentence cannot come from them.
    ("kiosk/errors.py", '"设备配置有误，请联系管理员。"'),
}


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def chinese_literals(path: Path) -> list[tuple[int, str]]:
    """(line, source text) of each string literal that spells a Chinese character."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    docs = _docstrings(tree)
    inner = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    found = []
    for node in ast.walk(tree):
        if id(node) in docs or id(node) in inner:
            continue
        if isinstance(node, ast.JoinedStr):
            value = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            value = node.value
        else:
            continue
        # Only a literal whose value holds a Han character can spell one (the
        # source segment, which tells a spelled character from a \u escape, is
        # costly: taken only then).
        if HAN.search(value):
            text = ast.get_source_segment(source, node) or ""
            if HAN.search(text):
                found.append((node.lineno, text))
    return found


def product_files() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def test_no_chinese_literal_in_product_code() -> None:
    files = product_files()
    assert len(files) > 100, "the scan found too few files: it is broken"
    offending = []
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        for line, text in chinese_literals(path):
            if (rel, text) not in ALLOWED:
                offending.append(f"{rel}:{line}: {text[:60]}")
    assert not offending, (
        "Chinese text in code; move it to config/messages/*.toml or config/i18n/:\n"
        + "\n".join(offending)
    )


def test_the_allow_list_is_not_stale() -> None:
    for rel, text in ALLOWED:
        assert text in {t for _l, t in chinese_literals(ROOT / rel)}, f"{rel}: {text} is gone"


def test_the_scan_sees_literals_and_ignores_docstrings(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        '"""模块说明 (a docstring)."""\n'
        "# 注释\n"
        'def f(n):\n    """函数说明."""\n    return f"第 {n} 行", "合格", "\\u5408"\n',
        encoding="utf-8",
    )
    assert [t for _l, t in chinese_literals(probe)] == ['f"第 {n} 行"', '"合格"']


# -- every key the code asks for has its words ------------------------------------

def _keys(pattern: str, *packages: str) -> set[str]:
    rx = re.compile(pattern)
    found: set[str] = set()
    for pkg in packages:
        for path in (ROOT / pkg).rglob("*.py"):
            found |= set(rx.findall(path.read_text(encoding="utf-8")))
    return found


def test_center_sentences_exist() -> None:
    from center.words import said, said_zh
    from kiosk.words import catalogue

    pairs = _keys(r"\bsaid\(\"([a-z0-9_]+)\"", "center")
    singles = _keys(r"\bsaid_zh\(\"([a-z0-9_]+)\"", "center")
    assert len(pairs) > 30 and len(singles) > 30, "the scan is broken"
    table = catalogue("center")
    for key in sorted(pairs):
        zh, en = said(key)
        assert HAN.search(zh) and en.strip() and not HAN.search(en), key
    for key in sorted(singles):
        assert key in table and HAN.search(said_zh(key)), key


def test_kiosk_fault_words_exist() -> None:
    from kiosk.link import client
    from kiosk.notices import words

    keys = _keys(r"\bnotices\.words\(\"([a-z0-9_]+)\"\)", "kiosk")
    assert len(keys) > 10, "the scan is broken"
    keys |= {client.UNREACHABLE, client.UPLOAD_UNREACHABLE, "config"}
    for key in sorted(keys):
        zh, en = words(key)
        assert HAN.search(zh) and en.strip(), key


def test_console_phrases_exist() -> None:
    from center.console.words import phrase

    keys = _keys(r"\bphrase\(\"([a-z0-9_]+)\"", "center")
    assert keys >= {"manual", "yes", "failed", "note"}
    for key in sorted(keys | {"no"} | {f"layout_{n}" for n in range(1, 10)}):
        assert HAN.search(phrase(key, label="x", rest="y", note="z", n=1)), key


@pytest.mark.parametrize("layout, name", [(1, "版式一"), (2, "版式二"), (12, "版式12")])
def test_layout_names_read_from_the_console_words(layout: int, name: str) -> None:
    from center.console.reprints import layout_name

    assert layout_name(layout) == name
