"""The photo standard as data: ``config/specs/<name>.toml`` loaded and validated.

Every field is checked on load, and an error names the file and the dotted key,
because a wrong number in a spec silently produces photos the center rejects.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from dataclasses import replace as _replace
from pathlib import Path
from typing import Any

from kiosk.errors import ConfigError
from kiosk.paths import CONFIG_DIR

SPECS_DIR = CONFIG_DIR / "specs"
MM_PER_INCH = 25.4


@dataclass(frozen=True)
class Spec:
    name: str
    title_zh: str
    title_en: str
    width: int
    height: int
    dpi: int
    min_quality: int
    max_quality: int
    size_min_kb: int
    size_max_kb: int
    background: str
    colours: dict[str, tuple[int, int, int]]
    bg_max_distance: float
    bg_max_std: float
    bg_max_gradient: float
    hair_top: tuple[float, float]
    eye_line: tuple[float, float]
    face_width: tuple[float, float]
    centre_tolerance: float
    plan_margin: float
    target_face_width: float
    max_upscale: float
    pose: dict[str, float] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)
    matte: dict[str, float] = field(default_factory=dict)
    reason_order: tuple[str, ...] = ()
    faces: dict[str, Any] = field(default_factory=dict)

    @property
    def size_min_bytes(self) -> int:
        """Lower end of the size window, reading "KB" as 1,024 bytes (the larger reading)."""
        return self.size_min_kb * 1024

    @property
    def size_max_bytes(self) -> int:
        """Upper end, reading "KB" as 1,000 bytes (the smaller reading).

        Uploaders disagree on what a KB is; a file between these two ends is
        inside "20-40 KB" whichever way the uploader reads it.
        """
        return self.size_max_kb * 1000

    @property
    def bg_rgb(self) -> tuple[int, int, int]:
        return self.colours[self.background]

    def with_background(self, name: str) -> Spec:
        if name not in self.colours:
            raise ConfigError(f"spec {self.name}: unknown background '{name}'")
        return _replace(self, background=name)


@dataclass(frozen=True)
class PrintSize:
    name: str
    width_mm: float
    height_mm: float
    dpi: int
    head_ratio: float
    top_ratio: float

    @property
    def pixels(self) -> tuple[int, int]:
        return (
            round(self.width_mm / MM_PER_INCH * self.dpi),
            round(self.height_mm / MM_PER_INCH * self.dpi),
        )


class _Reader:
    """Typed access to a TOML table that names file and key in every error."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data

    def _fail(self, key: str, why: str) -> ConfigError:
        return ConfigError(f"{self.path}: key '{key}': {why}")

    def raw(self, key: str) -> Any:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise self._fail(key, "missing")
            node = node[part]
        return node

    def str_(self, key: str) -> str:
        value = self.raw(key)
        if not isinstance(value, str) or not value:
            raise self._fail(key, f"must be a non-empty string, got {value!r}")
        return value

    def num(self, key: str, lo: float, hi: float, integer: bool = False) -> float:
        value = self.raw(key)
        ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok_type:
            kind = "an integer" if integer else "a number"
            raise self._fail(key, f"must be {kind}, got {value!r}")
        if not lo <= value <= hi:
            raise self._fail(key, f"must be within {lo}..{hi}, got {value!r}")
        number: float = value  # an int or a float, as the file has it
        return number

    def band(self, key: str, lo: float, hi: float) -> tuple[float, float]:
        value = self.raw(key)
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        ):
            raise self._fail(key, f"must be [low, high], got {value!r}")
        a, b = float(value[0]), float(value[1])
        if not lo <= a < b <= hi:
            raise self._fail(key, f"needs {lo} <= low < high <= {hi}, got {value!r}")
        return a, b

    def rgb(self, key: str) -> tuple[int, int, int]:
        value = self.raw(key)
        if (
            not isinstance(value, list)
            or len(value) != 3
            or not all(
                isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in value
            )
        ):
            raise self._fail(key, f"must be [R, G, B] integers 0..255, got {value!r}")
        return (value[0], value[1], value[2])


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such spec file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None


POSE_KEYS = (
    ("roll_warn", 0, 45), ("roll_max", 0, 45), ("yaw_warn", 0, 60), ("yaw_max", 0, 60),
    ("pitch_warn", 0, 60), ("pitch_max", 0, 60), ("pitch_offset", -45, 45),
    ("eye_open_min", 0, 1), ("eye_open_warn", 0, 1),
    ("mouth_open_max", 0, 1), ("mouth_open_warn", 0, 1),
)  # fmt: skip
QUALITY_KEYS: tuple[tuple[str, float, float], ...] = (
    ("sharpness_min", 0, 1e6), ("sharpness_warn", 0, 1e6), ("clipped_max", 0, 1),
    ("balance_max", 0, 1), ("balance_warn", 0, 1), ("clothing_min_fraction", 0, 1),
    ("clothing_distance", 0, 442), ("glare_warn", 0, 1), ("exposure_target_margin", 0, 100),
    ("gamma_min", 0.05, 1), ("gamma_max", 1, 20), ("upscale_warn", 0.1, 20),
)  # fmt: skip

MATTE_KEYS = (
    ("bg_distance", 1, 442), ("island_distance", 1, 442), ("afloat_distance", 1, 442), ("island_min_area", 1, 1e5),
    ("island_max_area", 0, 1e5), ("hole_min_area", 1, 1e5), ("hole_max_area", 0, 1e5), ("bite_radius", 1, 50), ("bite_min_area", 1, 1e5),
    ("outline_width", 1, 20), ("colour_sigma", 0.5, 50), ("sector_min_pixels", 1, 1e5),
    ("rim_delta", 1, 255), ("rim_warn", 0, 1), ("rim_max", 0, 1),
    ("spill_delta", 1, 442), ("spill_warn", 0, 1e5), ("spill_max", 0, 1e5),
    ("foreign_saturation", 1, 255), ("foreign_distance", 1, 442), ("foreign_sigma", 1, 50),
    ("spill_clean_area", 1, 1e5), ("spill_width", 1, 40), ("spill_depth", 1, 60), ("spill_sigma", 0.5, 50),
    ("haze_band", 1, 60), ("haze_depth", 1, 60), ("haze_sigma", 0.5, 50), ("haze_delta", 1, 442),
    ("haze_texture", 0.1, 1000), ("haze_min_width", 1, 60), ("haze_warn", 0, 1e5), ("haze_max", 0, 1e5),
    ("cloth_radius", 1, 20), ("cloth_bite_min_area", 1, 1e5),
)  # fmt: skip
QUALITY_KEYS += (("flat_block_range", 0, 255), ("flat_max_fraction", 0, 1))  # kiosk/photo/flatness


def parse_spec(path: Path, name: str | None = None) -> Spec:
    r = _Reader(path, _read_toml(path))
    width = int(r.num("image.width", 16, 10000, integer=True))
    height = int(r.num("image.height", 16, 10000, integer=True))
    min_q = int(r.num("image.min_quality", 1, 100, integer=True))
    max_q = int(r.num("image.max_quality", 1, 100, integer=True))
    if max_q < min_q:
        raise r._fail("image.max_quality", f"must be >= image.min_quality ({min_q})")
    size_min = int(r.num("image.size_min_kb", 1, 100000, integer=True))
    size_max = int(r.num("image.size_max_kb", 1, 100000, integer=True))
    if size_max * 1000 <= size_min * 1024:
        raise r._fail("image.size_max_kb", f"must be > image.size_min_kb ({size_min})")
    colours_raw = r.raw("background.colours")
    if not isinstance(colours_raw, dict) or not colours_raw:
        raise r._fail("background.colours", "must be a table of name = [R, G, B]")
    colours = {k: r.rgb(f"background.colours.{k}") for k in colours_raw}
    default = r.str_("background.default")
    if default not in colours:
        raise r._fail("background.default", f"must name one of {sorted(colours)}")
    pose = {k: float(r.num(f"pose.{k}", lo, hi)) for k, lo, hi in POSE_KEYS}
    for a, b in (("roll_warn", "roll_max"), ("yaw_warn", "yaw_max"), ("pitch_warn", "pitch_max"),
                 ("mouth_open_warn", "mouth_open_max")):  # fmt: skip
        if pose[a] > pose[b]:
            raise r._fail(f"pose.{a}", f"must be <= pose.{b}")
    if pose["eye_open_warn"] < pose["eye_open_min"]:
        raise r._fail("pose.eye_open_warn", "must be >= pose.eye_open_min")
    quality: dict[str, Any] = {
        k: float(r.num(f"quality.{k}", lo, hi)) for k, lo, hi in QUALITY_KEYS
    }
    quality["exposure"] = r.band("quality.exposure", 0, 255)
    matte = {k: float(r.num(f"matte.{k}", lo, hi)) for k, lo, hi in MATTE_KEYS}
    for a, b in (("rim_warn", "rim_max"), ("spill_warn", "spill_max"), ("haze_warn", "haze_max")):
        if matte[a] > matte[b]:
            raise r._fail(f"matte.{a}", f"must be <= matte.{b}")
    faces: dict[str, Any] = {
        "second_min_score": float(r.num("faces.second_min_score", 0, 1)),
        "second_min_ratio": float(r.num("faces.second_min_ratio", 0, 1)),
    }
    needs = r.raw("faces.second_needs_landmarks")
    if not isinstance(needs, bool):
        raise r._fail("faces.second_needs_landmarks", f"must be true or false, got {needs!r}")
    faces["second_needs_landmarks"] = needs
    order = r.raw("report.reason_order")
    if not isinstance(order, list) or not all(isinstance(v, str) and v for v in order):
        raise r._fail("report.reason_order", "must be a list of item names")
    if len(set(order)) != len(order):
        raise r._fail("report.reason_order", "names an item twice")
    spec = Spec(
        name=name or path.stem,
        title_zh=r.str_("title_zh"),
        title_en=r.str_("title_en"),
        width=width,
        height=height,
        dpi=int(r.num("image.dpi", 50, 2400, integer=True)),
        min_quality=min_q,
        max_quality=max_q,
        size_min_kb=size_min,
        size_max_kb=size_max,
        background=default,
        colours=colours,
        bg_max_distance=float(r.num("background.max_distance", 0, 442)),
        bg_max_std=float(r.num("background.max_std", 0, 255)),
        bg_max_gradient=float(r.num("background.max_gradient", 0, 442)),
        hair_top=r.band("geometry.hair_top", 0, height),
        eye_line=r.band("geometry.eye_line", 0, height),
        face_width=r.band("geometry.face_width", 0, width),
        centre_tolerance=float(r.num("geometry.centre_tolerance", 0, width)),
        plan_margin=float(r.num("geometry.plan_margin", 0, 100)),
        target_face_width=float(r.num("geometry.target_face_width", 1, width)),
        max_upscale=float(r.num("geometry.max_upscale", 0.1, 20)),
        pose=pose,
        quality=quality,
        matte=matte,
        reason_order=tuple(order),
        faces=faces,
    )
    if spec.hair_top[1] >= spec.eye_line[0]:
        raise r._fail("geometry.hair_top", "must end above geometry.eye_line")
    return spec


# The standard served when a caller names none (a program names ``photo.spec``).
DEFAULT_SPEC = "chsi_graduation"
# The keys of the ``[photo]`` table that change a spec at a booth.
BOOTH_KEYS = ("background", "size_min_kb", "size_max_kb")


def _apply_overrides(spec: Spec, booth: Mapping[str, Any]) -> Spec:
    """Booth overrides, the ``[photo]`` table's ``background`` and size window."""
    bg = booth.get("background", "") or ""
    if bg:
        if bg not in spec.colours:
            raise ConfigError(f"photo.background: '{bg}' is not one of {sorted(spec.colours)}")
        spec = _replace(spec, background=bg)
    lo = int(booth.get("size_min_kb", 0) or 0) or spec.size_min_kb
    hi = int(booth.get("size_max_kb", 0) or 0) or spec.size_max_kb
    if hi * 1000 <= lo * 1024:
        raise ConfigError(f"photo.size_max_kb ({hi}) must be > photo.size_min_kb ({lo})")
    return _replace(spec, size_min_kb=lo, size_max_kb=hi)


_cache: dict[tuple[str, ...], Spec] = {}


def load_spec(name: str | None = None, directory: Path | None = None,
              overrides: Mapping[str, Any] | None = None) -> Spec:
    """The named spec (``DEFAULT_SPEC`` if none), cached per file state.

    ``overrides`` is a booth's ``[photo]`` table (only ``BOOTH_KEYS`` count),
    given by the program that parsed the settings (``kiosk.wiring.photo_spec``);
    without it the spec is the file's own.
    """
    name = name or DEFAULT_SPEC
    if "/" in name or name.startswith("."):
        raise ConfigError(f"spec name '{name}' must be a file name in {SPECS_DIR}")
    path = (directory or SPECS_DIR) / f"{name}.toml"
    booth = {k: (overrides or {}).get(k) for k in BOOTH_KEYS}
    stamp = str(path.stat().st_mtime_ns) if path.exists() else ""
    key = (str(path), stamp, *(str(booth[k] or "") for k in BOOTH_KEYS))
    if key not in _cache:
        _cache[key] = _apply_overrides(parse_spec(path, name), booth)
    return _cache[key]


def load_print_sizes(path: Path | None = None) -> dict[str, PrintSize]:
    path = path or SPECS_DIR / "print_sizes.toml"
    r = _Reader(path, _read_toml(path))
    dpi = int(r.num("dpi", 50, 2400, integer=True))
    sizes = r.raw("sizes")
    if not isinstance(sizes, dict) or not sizes:
        raise r._fail("sizes", "must be a table of print sizes")
    out = {}
    for name in sizes:
        k = f"sizes.{name}"
        out[name] = PrintSize(
            name=name,
            width_mm=float(r.num(f"{k}.width_mm", 5, 500)),
            height_mm=float(r.num(f"{k}.height_mm", 5, 500)),
            dpi=dpi,
            head_ratio=float(r.num(f"{k}.head_ratio", 0.1, 0.95)),
            top_ratio=float(r.num(f"{k}.top_ratio", 0.0, 0.5)),
        )
    return out
