"""Solving the crop from head geometry: scale and position, never rotation or mirroring.

The crop maps source pixels to output pixels by ``out = (src - origin) * scale``.
It aims ``plan_margin`` pixels inside every band of the spec (hair top, eye
line, face width) and centres the face. Where the source cannot supply the
needed picture (head cut at the top, shoulders cut at the bottom or side, the
subject too small), it refuses with the instruction that would fix it. Area
outside the source is only ever filled when the person does not reach that
edge, because the background is replaced anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kiosk.photo.spec import Spec


@dataclass(frozen=True)
class Head:
    """What the solver needs, in source pixels."""

    eye_y: float
    hair_top: float
    face_width: float
    face_cx: float
    src_w: float
    src_h: float
    touch_top: bool = False  # the person reaches the source's top edge near the head
    touch_left_y: float | None = None  # highest source row where the person touches the left edge
    touch_right_y: float | None = None


@dataclass(frozen=True)
class Plan:
    x0: float
    y0: float
    scale: float  # output px per source px
    out_w: int
    out_h: int
    hair_top: float  # predicted, output px
    eye_line: float
    face_width: float

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) in source pixels."""
        return (
            self.x0,
            self.y0,
            self.x0 + self.out_w / self.scale,
            self.y0 + self.out_h / self.scale,
        )

    def matrix(self, out_scale: float = 1.0) -> NDArray[Any]:
        """2x3 affine matrix from source to an output ``out_scale`` times the spec size."""
        k = self.scale * out_scale
        return np.array([[k, 0.0, -self.x0 * k], [0.0, k, -self.y0 * k]], np.float64)


class FramingError(Exception):
    """The subject cannot be framed; ``reason`` picks the message and the guidance."""

    GUIDANCE = {
        "too_far": "closer",
        "too_close": "back",
        "head_cut": "lower",
        "shoulders_cut": "back",
        "proportions": "lower",
    }

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail

    @property
    def guidance(self) -> str:
        return self.GUIDANCE[self.reason]


def solve(
    spec: Spec, head: Head, margin: float | None = None, max_upscale: float | None = None
) -> Plan:
    """The framing with the most room inside every band that the source can supply.

    Candidates over the feasible scales and hair-top positions are scored by
    their smallest slack to any band edge (hair top, eye line, face width),
    with a small pull towards ``target_face_width``; the best one whose crop
    the picture can supply wins. The slack must reach ``margin``.
    """
    m = spec.plan_margin if margin is None else margin
    max_up = spec.max_upscale if max_upscale is None else max_upscale
    (h_lo, h_hi), (e_lo, e_hi), (f_lo, f_hi) = spec.hair_top, spec.eye_line, spec.face_width
    if head.touch_top:
        raise FramingError("head_cut", "the person reaches the top edge of the picture")
    d = head.eye_y - head.hair_top
    if d <= 0 or head.face_width <= 0:
        raise FramingError("proportions", f"eye line above hair top (d={d:.1f})")
    s_lo = max((f_lo + m) / head.face_width, (e_lo - h_hi + 2 * m) / d)
    s_hi = min((f_hi - m) / head.face_width, (e_hi - h_lo - 2 * m) / d)
    if s_lo > s_hi + 1e-9:
        raise FramingError(
            "proportions",
            f"face width {head.face_width:.0f} px and hair-to-eye {d:.0f} px fit no single scale",
        )
    if s_lo > max_up:
        raise FramingError("too_far", f"needs {s_lo:.2f}x enlargement, limit {max_up:.2f}x")
    s_hi = min(s_hi, max_up)
    # Plain floats and no Plan per candidate: guidance solves on every preview frame.
    best: tuple[float, float, float] | None = None  # (score, scale, hair-top row)
    worst = ""
    for s in _spaced(s_lo, s_hi, 13) if s_hi > s_lo else [s_lo]:
        ds = d * s
        c_lo = max(h_lo + m, e_lo + m - ds)
        c_hi = min(h_hi - m, e_hi - m - ds)
        if c_lo > c_hi + 1e-6:
            continue
        for c in _spaced(c_lo, max(c_lo, c_hi), 7):
            slack = min(c - h_lo, h_hi - c, c + ds - e_lo, e_hi - c - ds,
                        head.face_width * s - f_lo, f_hi - head.face_width * s)  # fmt: skip
            score = slack - 0.05 * abs(head.face_width * s - spec.target_face_width)
            problem = _problem_at(_box(spec, head, s, c), s, head)
            if problem:
                worst = worst or problem
                continue
            if best is None or score > best[0]:
                best = (score, s, c)
    if best is None:
        raise FramingError(worst or "proportions", "the picture cannot supply this crop")
    return _plan(spec, head, best[1], best[2])


def _spaced(lo: float, hi: float, n: int) -> list[float]:
    """``np.linspace(lo, hi, n)`` as Python floats, computed the same way value for value."""
    lo, hi = float(lo), float(hi)
    div = n - 1
    delta = hi - lo
    step = delta / div
    out = (
        [i / div * delta + lo for i in range(n)] if step == 0 else [i * step + lo for i in range(n)]
    )
    out[-1] = hi
    return out


def _box(spec: Spec, head: Head, s: float, c: float) -> tuple[float, float, float, float]:
    """``_plan(spec, head, s, c).box``, without making the plan."""
    y0 = head.hair_top - c / s
    x0 = head.face_cx - spec.width / (2 * s)
    return (x0, y0, x0 + spec.width / s, y0 + spec.height / s)


def _plan(spec: Spec, head: Head, s: float, c: float) -> Plan:
    y0 = head.hair_top - c / s
    x0 = head.face_cx - spec.width / (2 * s)
    return Plan(
        x0=x0,
        y0=y0,
        scale=s,
        out_w=spec.width,
        out_h=spec.height,
        hair_top=c,
        eye_line=c + (head.eye_y - head.hair_top) * s,
        face_width=head.face_width * s,
    )


def _problem_at(box: tuple[float, float, float, float], scale: float, head: Head) -> str:
    """What the picture cannot supply for a crop ``box`` (source px) at ``scale``; "" if nothing."""
    x0, y0, x1, y1 = box
    tol = 0.5 / scale + 1.0
    if y1 > head.src_h + tol:
        return "too_close"
    if x0 < -tol and head.touch_left_y is not None and head.touch_left_y < y1:
        return "shoulders_cut"
    if x1 > head.src_w + tol and head.touch_right_y is not None and head.touch_right_y < y1:
        return "shoulders_cut"
    return ""


def hair_top_from_alpha(
    alpha: NDArray[Any], face_cx: float, face_width: float, eye_y: float, threshold: float = 0.5
) -> float | None:
    """Topmost row of the person above the eyes, in a band around the face.

    The band is wide enough for buns and ponytails on top of the head but does
    not reach the shoulders; a row counts once a few pixels in it are person.
    """
    h, w = alpha.shape
    x0 = int(max(0, face_cx - 0.85 * face_width))
    x1 = int(min(w, face_cx + 0.85 * face_width))
    y_end = int(min(h, max(1, eye_y)))
    if x1 - x0 < 2 or y_end < 1:
        return None
    band = alpha[:y_end, x0:x1] > threshold
    need = max(2, int(0.02 * (x1 - x0)))
    rows = np.flatnonzero(band.sum(axis=1) >= need)
    if rows.size == 0:
        return None
    return float(rows[0])


def edge_contacts(
    alpha: NDArray[Any], face_cx: float, face_width: float
) -> tuple[bool, float | None, float | None]:
    """Whether the person reaches the top edge near the head, and the highest
    rows where it reaches the left and right edges (``None``: never)."""
    h, w = alpha.shape
    x0 = int(max(0, face_cx - 0.85 * face_width))
    x1 = int(min(w, face_cx + 0.85 * face_width))
    top = alpha[:2, x0:x1] > 0.5
    touch_top = bool(top.size and top.any(axis=0).mean() > 0.08)

    def side(col: NDArray[Any]) -> float | None:
        rows = np.flatnonzero(col > 0.5)
        return float(rows[0]) if rows.size > max(2, 0.01 * h) else None

    return touch_top, side(alpha[:, :2].max(axis=1)), side(alpha[:, -2:].max(axis=1))
