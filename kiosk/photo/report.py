"""The compliance report: every item with its value, limit, verdict and a sentence.

The same structure comes out of the kiosk's pipeline and the center's upload
check, so a student sees the same words wherever a photo is judged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from kiosk.photo.messages import item_label, item_text, verdict_text

VERDICTS = ("pass", "warn", "fail")


@dataclass(frozen=True)
class Item:
    name: str
    value: Any
    limit: str
    verdict: str  # pass | warn | fail
    zh: str
    en: str
    reason: str = ""  # which side of the limit, e.g. "low", "high", "too_far"

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["label_zh"], d["label_en"] = item_label(self.name)
        return d


@dataclass
class Report:
    spec: str
    items: list[Item] = field(default_factory=list)
    # Item names in the order a student should hear about them (the spec's
    # ``[report] reason_order``): what fixes the retake first, so a blurred or
    # dark capture is not sent back for a head tilt the blur made the mesh read.
    order: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(i.verdict != "fail" for i in self.items)

    def _ranked(self, verdict: str) -> list[Item]:
        rank = {name: n for n, name in enumerate(self.order)}
        found = [i for i in self.items if i.verdict == verdict]
        return sorted(found, key=lambda i: rank.get(i.name, len(rank)))

    @property
    def failures(self) -> list[Item]:
        """Failed items, the one to tell the student first at the front."""
        return self._ranked("fail")

    @property
    def warnings(self) -> list[Item]:
        return self._ranked("warn")

    def get(self, name: str) -> Item | None:
        return next((i for i in self.items if i.name == name), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "ok": self.ok,
            "failed": [i.name for i in self.failures],
            "warned": [i.name for i in self.warnings],
            "items": [i.as_dict() for i in self.items],
        }

    def text(self, lang: str = "en") -> str:
        lines = []
        for i in self.items:
            label = item_label(i.name)[0 if lang == "zh" else 1]
            msg = i.zh if lang == "zh" else i.en
            lines.append(
                f"{i.verdict.upper():4}  {label:<20} {_fmt(i.value):>10}  [{i.limit}]  {msg}"
            )
        lines.append(verdict_text(self.ok, lang))
        return "\n".join(lines)


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}"
    return str(v)


def make_item(name: str, value: Any, limit: str, verdict: str, reason: str = "") -> Item:
    zh, en = item_text(name, verdict, reason, value=_fmt(value), limit=limit)
    return Item(name, _round(value), limit, verdict, zh, en, reason)


def _round(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 3)
    return v


def band(name: str, value: float, lo: float, hi: float, unit: str = "px") -> Item:
    limit = f"{lo:g}–{hi:g} {unit}".strip()
    if value < lo:
        return make_item(name, value, limit, "fail", "low")
    if value > hi:
        return make_item(name, value, limit, "fail", "high")
    return make_item(name, value, limit, "pass")


def at_most(
    name: str, value: float, fail: float, warn: float | None = None, unit: str = ""
) -> Item:
    """``|value|`` must stay under ``fail``; over ``warn`` is a warning."""
    limit = f"≤ {fail:g}{unit}"
    mag = abs(value)
    if mag > fail:
        return make_item(name, value, limit, "fail", "high" if value > 0 else "low")
    if warn is not None and mag > warn:
        return make_item(name, value, limit, "warn")
    return make_item(name, value, limit, "pass")


def at_least(
    name: str, value: float, fail: float, warn: float | None = None, unit: str = ""
) -> Item:
    limit = f"≥ {fail:g}{unit}"
    if value < fail:
        return make_item(name, value, limit, "fail", "low")
    if warn is not None and value < warn:
        return make_item(name, value, limit, "warn")
    return make_item(name, value, limit, "pass")
