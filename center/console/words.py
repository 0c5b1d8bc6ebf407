"""The console's Chinese: report items with rounded values and units, and the
rejection presets derived from the compliance report's items.

Why derived: the presets used to be a hand-written list that missed background
colour, more than one person and file size, the failures a real queue had. The
student-facing sentences of every report item already live in
``config/messages/photo.toml`` (the kiosk shows the same words); every
failure sentence there becomes a preset, so a check item added to the checker
and its messages is a preset without touching the console. Report values and
limits are shown in Chinese with units (``config/messages/console.toml``),
never as raw floats or English words.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from kiosk.errors import ConfigError
from kiosk.paths import CONFIG_DIR

PHOTO_MESSAGES = CONFIG_DIR / "messages" / "photo.toml"
CONSOLE_WORDS = CONFIG_DIR / "messages" / "console.toml"


@lru_cache(maxsize=1)
def photo_messages() -> dict[str, Any]:
    with PHOTO_MESSAGES.open("rb") as fh:
        items: dict[str, Any] = tomllib.load(fh).get("items", {})
    return items


@lru_cache(maxsize=1)
def words() -> dict[str, Any]:
    with CONSOLE_WORDS.open("rb") as fh:
        return tomllib.load(fh)


def phrase(key: str, **fmt: Any) -> str:
    """A phrase of ``[phrases]`` in console.toml with ``fmt`` filled in; a missing one is a bug."""
    try:
        return str(words()["phrases"][key]).format(**fmt)
    except KeyError:
        raise ConfigError(f"{CONSOLE_WORDS}: key 'phrases.{key}': missing") from None


def label(table: str, key: str | None) -> str:
    """A word from a table of console.toml, or the key itself when it has none."""
    if key is None:
        return ""
    return str(words().get(table, {}).get(key, key))


def audit_detail(text: str | None) -> str:
    """An audit line's detail in Chinese (``[audit_details]``), codes left as they are."""
    out = text or ""
    for pattern, zh in words().get("audit_details", {}).items():
        out = re.sub(pattern, zh, out)
    labels = {p.code: p.label for p in derived_presets()}
    return re.sub(
        r"[a-z_]+(?:\.[a-z_]+)?",
        lambda m: labels.get(
            m.group(), phrase("manual") if m.group().startswith("manual.") else m.group()
        ),
        out,
    )


# -- numbers and terms -------------------------------------------------------------

_NUM = re.compile(r"-?\d+(?:\.\d+)?")


def _terms(text: str) -> str:
    for term, zh in sorted(words()["terms"].items(), key=lambda kv: -len(kv[0])):
        text = text.replace(term, zh)
    text = re.sub(r"(\d)x(\d)", r"\1×\2", text)
    text = re.sub(r"\((\d+), (\d+), (\d+)\)", r"(\1,\2,\3)", text)  # RGB triples
    text = text.replace(", ", "、").replace("..", "–")
    return re.sub(r"\s+", " ", text).strip()


def _number(v: float, digits: int) -> str:
    text = f"{v:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_value(name: str, value: Any) -> str:
    """A report value rounded, with its unit: 280.985 → "281 像素"."""
    if value is None:
        return "—"
    unit = words()["units"].get(name, {})
    if isinstance(value, bool):
        return phrase("yes" if value else "no")
    if isinstance(value, int | float):
        v = float(value) * float(unit.get("factor", 1))
        digits = int(unit.get("digits", 2 if abs(v) < 10 else 1))
        text = _number(v, digits)
        u = unit.get("unit", "")
        text = f"{text} {u}".strip() if u not in ("%", "°") else f"{text}{u}"
        return f"{unit['prefix']} {text}" if unit.get("prefix") else text
    text = _terms(str(value))
    u = unit.get("unit", "")
    return f"{text} {u}".strip() if u and _NUM.search(text) and not text.endswith(u) else text


def fmt_limit(name: str, limit: Any) -> str:
    """A report limit in Chinese with the item's unit ("50–110 px" → "50–110 像素")."""
    if limit in (None, ""):
        return ""
    unit = words()["units"].get(name, {})
    factor = float(unit.get("factor", 1))
    text = str(limit)
    if factor != 1:
        text = _NUM.sub(
            lambda m: _number(float(m.group()) * factor, int(unit.get("digits", 0))), text
        )
    text = _terms(text)
    u = unit.get("unit", "")
    if u and _NUM.search(text) and not text.endswith(u) and "(" not in text:
        text = f"{text}{u}" if u in ("%", "°") else f"{text} {u}"
    return text


# -- report items ------------------------------------------------------------------


@dataclass(frozen=True)
class ItemView:
    name: str
    label: str
    verdict: str
    verdict_zh: str
    value: str
    limit: str
    sentence: str
    reason: str

    @property
    def preset_code(self) -> str:
        """The rejection preset that this item's failure (or warning) stands for."""
        return preset_code(self.name, self.verdict, self.reason)


def _template(name: str, verdict: str, reason: str) -> str | None:
    table = photo_messages().get(name)
    if not table:
        return None
    keys = ([f"{verdict}_{reason}"] if reason else []) + [verdict, "fail", "pass"]
    for key in keys:
        if f"{key}_zh" in table:
            return str(table[f"{key}_zh"])
    return None


def item_view(item: dict[str, Any]) -> ItemView:
    name = str(item.get("name", ""))
    verdict = str(item.get("verdict", "fail"))
    reason = str(item.get("reason") or "")
    value = fmt_value(name, item.get("value"))
    limit = fmt_limit(name, item.get("limit"))
    table = photo_messages().get(name, {})
    template = _template(name, verdict, reason)
    if template is None:  # not an item of the photo messages (e.g. the upload stage)
        sentence = str(item.get("zh") or "")
    else:
        sentence = template.replace("{value}", value).replace("{limit}", limit)
    return ItemView(
        name=name,
        label=str(table.get("label_zh") or item.get("label_zh") or name),
        verdict=verdict,
        verdict_zh=label("verdicts", verdict),
        value=value,
        limit=limit,
        sentence=sentence,
        reason=reason,
    )


@dataclass(frozen=True)
class ReportView:
    items: list[ItemView]
    failures: list[ItemView]
    warnings: list[ItemView]
    passed: list[ItemView]
    ok: bool


def report_view(report: dict[str, Any] | None) -> ReportView | None:
    if not report or "items" not in report:
        return None
    items = [item_view(i) for i in report["items"]]
    return ReportView(
        items=items,
        failures=[i for i in items if i.verdict == "fail"],
        warnings=[i for i in items if i.verdict == "warn"],
        passed=[i for i in items if i.verdict == "pass"],
        ok=not any(i.verdict == "fail" for i in items),
    )


# -- rejection presets -------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    code: str
    label: str  # the item's label (group in the list)
    zh: str  # what the student reads
    item: str = ""  # the report item it stands for; "" for reasons no check measures
    note_required: bool = False


def preset_code(name: str, verdict: str, reason: str) -> str:
    variants = _variants(name)
    for variant in ([f"{verdict}_{reason}"] if reason else []) + [verdict, "fail"]:
        if variant in variants:
            return name if variant in ("fail",) else f"{name}.{variant}"
    return f"{name}.{next(iter(variants))}" if variants else name


def _variants(name: str) -> list[str]:
    """fail, fail_low, ... of an item; its warnings only if it has no failure sentence."""
    table = photo_messages().get(name, {})
    keys = [k[:-3] for k in table if k.endswith("_zh") and k.startswith(("fail", "warn"))]
    fails = [k for k in keys if k.startswith("fail")]
    return fails or keys


_PLACEHOLDER_GROUP = re.compile(r"[（(][^（）()]*\{(?:value|limit)\}[^（）()]*[）)]")


def _generic(label_zh: str, sentence: str) -> str:
    """A sentence without this photo's numbers: "(…{value}…)" groups removed; a clause
    that still needs a number becomes "<label>不合格"."""
    text = _PLACEHOLDER_GROUP.sub("", sentence)
    if "{" in text:
        clauses = re.split(r"[，,]", text)
        rest = "，".join(c for c in clauses if "{" not in c).strip("，。")
        text = (phrase("failed_because", label=label_zh, rest=rest) if rest
                else phrase("failed", label=label_zh))
    return text


@lru_cache(maxsize=1)
def derived_presets() -> tuple[Preset, ...]:
    out = []
    for name, table in photo_messages().items():
        label_zh = str(table.get("label_zh", name))
        for variant in _variants(name):
            code = name if variant == "fail" else f"{name}.{variant}"
            out.append(
                Preset(code, label_zh, _generic(label_zh, str(table[f"{variant}_zh"])), name)
            )
    return tuple(out)


def all_presets(extra: list[dict[str, Any]]) -> dict[str, Preset]:
    """Derived presets plus the configured reasons no check measures (``review.reasons``)."""
    presets = {p.code: p for p in derived_presets()}
    for r in extra:
        code = f"manual.{r['code']}"
        presets[code] = Preset(
            code, phrase("manual"), str(r["zh"]), "", bool(r.get("note_required", False))
        )
    return presets


def shown_reasons(
    view: ReportView | None, presets: dict[str, Preset], limit: int = 9
) -> list[tuple[Preset, bool]]:
    """The reasons on the review page with keys 1–9: this photo's failures (pre-selected,
    with its own numbers), its warnings, then the reasons no check measures."""
    out: list[tuple[Preset, bool]] = []
    seen: set[str] = set()
    if view is not None:
        for item, chosen in [(i, True) for i in view.failures] + [
            (i, False) for i in view.warnings
        ]:
            code = item.preset_code
            if code in seen or code not in presets:
                continue
            seen.add(code)
            out.append((Preset(code, item.label, item.sentence, item.name), chosen))
    for code, p in presets.items():
        if code.startswith("manual.") and code not in seen:
            out.append((p, False))
    return out[:limit]


def compose_text(
    codes: list[str], presets: dict[str, Preset], view: ReportView | None, note: str
) -> str:
    """What the student reads: each chosen reason's sentence (with this photo's numbers
    where the report has them), then the reviewer's note."""
    own = {i.preset_code: i.sentence for i in (view.failures + view.warnings)} if view else {}
    parts = []
    for code in codes:
        text = own.get(code) or presets[code].zh
        if text not in parts:
            parts.append(text)
    text = "".join(parts)
    if note:
        text += phrase("note", note=note)
    return text[:500]
