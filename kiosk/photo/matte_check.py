"""What a reviewer sees of the matte: islands, holes, rims and colour spill.

Measured on the finished picture alone (the kiosk's own output or an upload),
so the center can run it too. The new background is flat, so every pixel is
either that colour, the person, or a mix of the two along the outline:

- **islands**: pieces of non-background colour that do not belong to the
  person (a logo, a bokeh light, letters of the old backdrop, an earring cut
  into fragments);
- **holes**: background colour enclosed by the person where skin or cloth
  should be (the face and ears, the neck and chest), not the gaps between
  strands of hair at the head's outline;
- **rim**: a dark or light line along the outline, a pixel that is darker (or
  lighter) than both the person beside it and the background;
- **spill**: colour along the outline that is neither the person's nor the new
  background's, i.e. the old background left in the hair;
- **haze**: a thick, smooth zone along the hair top whose colour lies between
  the hair and the new background with none of the hair's texture -- a dark
  lump of the old backdrop (a shadow, a coat) kept as soft alpha. The mix
  explains each of its pixels, so rim and spill do not see it; its width
  (hair mixes with the background over a pixel or two) and its smoothness
  (strands make texture, a haze none) do.

Holes and bites are looked for in the face, ears, neck and chest, and in the
collar and shoulder cloth below the chin; there only where the person is
thick on both sides (a gap beside a thin strand of long hair is the
background, a notch between collar and lapel is not).

Rim and spill compare each outline pixel with the mix ``a F + (1 - a) B`` of
the nearby person colour F and the background B that explains it best; what
the mix cannot explain is the fault. They are judged per sector of the outline
around the face, as a reviewer sees a rim along the hair top even when the
rest of the outline is clean. Limits live in the spec's ``[matte]`` table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from kiosk.photo import channels
from kiosk.photo.analysis import FACE_OVAL, NOSE, Face
from kiosk.photo.report import Item, at_most, make_item
from kiosk.photo.spec import Spec

SECTORS = 16  # outline sectors around the face centre
# The cloth zone: from this fraction of the face's height above the chin, this many face
# widths either side of the face centre, widening by this many px per px down.
CLOTH_TOP, CLOTH_HALF, CLOTH_SLOPE = 0.15, 0.6, 0.25


@dataclass
class MatteFaults:
    """Raw measurements in the spec's pixel frame (for the report and for tests)."""

    island_area: int  # largest island, px
    island_count: int
    hole_area: int  # largest hole inside skin or cloth, px
    hole_count: int
    bite_area: int  # largest bite (px) cut into face, ears, neck or chest from outside
    rim: float  # worst sector: fraction of outline pixels darker/lighter than both sides
    rim_kind: str  # "dark" | "light" | ""
    spill: float  # largest patch (px) of outer-hair colour the person and background cannot explain
    haze: int  # largest thick, smooth patch (px) of hair/background mix along the hair top
    # uint8 masks: what the pipeline removes (islands, spill) or gives back (holes, bites)
    islands: NDArray[Any]
    holes: NDArray[Any]
    spilled: NDArray[Any]
    bites: NDArray[Any]
    hazy: NDArray[Any]


def core_zone(face: Face, shape: tuple[int, int]) -> NDArray[Any]:
    """Where a background-coloured hole cannot be a hair gap: face, ears, neck and chest."""
    h, w = shape
    zone = np.zeros((h, w), np.uint8)
    # The face outline pushed out by 15 % of the face width: ears and temples.
    oval = face.pts[list(FACE_OVAL), :2].astype(np.float32)
    centre = oval.mean(axis=0)
    radius = float(np.linalg.norm(oval - centre, axis=1).mean())
    grow = 1.0 + 0.15 * face.face_width / max(radius, 1.0)
    cv2.fillPoly(zone, [((oval - centre) * grow + centre).astype(np.int32)], (1,))
    # Neck and chest: a trapezoid under the chin that widens towards the shoulders.
    face_h = max(1.0, face.chin_y - face.forehead_y)
    y0 = int(min(h, face.chin_y + 0.1 * face_h))
    cx, half = face.face_cx, 0.35 * face.face_width
    if y0 < h:
        d = half + 0.8 * (h - y0)
        trapezoid = np.array([[cx - half, y0], [cx + half, y0], [cx + d, h], [cx - d, h]], np.int32)
        cv2.fillPoly(zone, [trapezoid], (1,))
    return zone


def cloth_zone(face: Face, shape: tuple[int, int]) -> NDArray[Any]:
    """Collar, lapels and the cloth beside the neck, down to the shoulders.

    A wider trapezoid than the core zone's neck and chest, from the jaw down,
    beside the core zone: the notch between collar and lapel is here. Long hair
    falls further out, over the shoulders.
    """
    h, w = shape
    zone = np.zeros((h, w), np.uint8)
    face_h = max(1.0, face.chin_y - face.forehead_y)
    y0 = int(min(h, max(0.0, face.chin_y - CLOTH_TOP * face_h)))
    cx, half = face.face_cx, CLOTH_HALF * face.face_width
    if y0 < h:
        d = half + CLOTH_SLOPE * (h - y0)
        trapezoid = np.array([[cx - half, y0], [cx + half, y0], [cx + d, h], [cx - d, h]], np.int32)
        cv2.fillPoly(zone, [trapezoid], (1,))
    zone[core_zone(face, shape) > 0] = 0
    return zone


def _thick(not_bg: NDArray[Any], radius: int) -> NDArray[Any]:
    """The person without what is thinner than ``2 * radius + 1`` px (strands of hair)."""
    ker = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)
    thick: NDArray[Any] = cv2.morphologyEx(not_bg, cv2.MORPH_OPEN, ker)
    return thick


def _member(labels: NDArray[Any], n: int, chosen: NDArray[Any] | list[int]) -> NDArray[Any]:
    """``np.isin(labels, chosen)`` for component labels 0..n-1, by a lookup table."""
    table = np.zeros(n, bool)
    table[chosen] = True
    member: NDArray[Any] = table[labels]
    return member


def _edge_labels(labels: NDArray[Any], below: int) -> set[int]:
    """Components the body continues through: the bottom edge, and the sides under the chin."""
    edges = np.concatenate([labels[-1], labels[below:, 0], labels[below:, -1]])
    return {int(v) for v in np.unique(edges)}


def measure(
    rgb: NDArray[Any], face: Face, bg: NDArray[Any], spec: Spec, limits: dict[str, float] | None = None
) -> MatteFaults:
    """Islands, holes, rim and spill of a picture on a flat background ``bg`` (RGB).

    ``limits`` replaces the spec's ``[matte]`` values (the kiosk cleans its own
    matte with stricter ones than it is judged by, so JPEG noise cannot tip a
    borderline piece over the limit after the cleaning).
    """
    m = limits or spec.matte
    h, w = rgb.shape[:2]
    img = rgb.astype(np.float32)
    dist = channels.norm(img - bg[None, None, :])
    is_bg = (dist < m["bg_distance"]).astype(np.uint8)
    not_bg = 1 - is_bg
    # The background proper: what connects to the top, left or right edge. A
    # background-coloured region reached only from the bottom edge is a bite
    # out of the shoulders.
    n_bg, lab_bg = cv2.connectedComponents(is_bg, connectivity=4)
    edge_labels = np.unique(np.concatenate([lab_bg[0], lab_bg[:, 0], lab_bg[:, -1]]))
    main_bg = _member(lab_bg, n_bg, edge_labels[edge_labels > 0])
    # The person: the non-background component under the nose, and whatever the
    # body continues through (the bottom edge, the sides below the chin: the clothes).
    n_fg, lab_fg, stats, _ = cv2.connectedComponentsWithStats(not_bg, connectivity=8)
    nx, ny = (int(round(v)) for v in face.pts[NOSE, :2])
    anchor = {int(lab_fg[min(h - 1, max(0, ny)), min(w - 1, max(0, nx))])}
    below = int(min(h - 1, max(0, face.chin_y)))
    anchor |= _edge_labels(lab_fg, below)
    anchor.discard(0)
    solid = dist > m["island_distance"]
    # Per-component counts in one pass each (a busy picture has many components).
    solid_px = np.bincount(lab_fg[solid], minlength=n_fg)
    is_island = solid_px >= m["island_min_area"]
    is_island[0] = False
    is_island[list(anchor)] = False
    island_mask = is_island[lab_fg].astype(np.uint8)
    island_areas = solid_px[is_island].tolist()
    # A piece joined to the person only by a faint haze is afloat all the same: look
    # again with solid colour alone.
    strong = (dist > m["afloat_distance"]).astype(np.uint8)
    n_s, lab_s = cv2.connectedComponents(strong, connectivity=8)
    anchor_s = {int(lab_s[min(h - 1, max(0, ny)), min(w - 1, max(0, nx))])}
    anchor_s |= _edge_labels(lab_s, below)
    size_s = np.bincount(lab_s.ravel(), minlength=n_s)
    afloat = size_s >= m["island_min_area"]
    afloat[0] = False
    afloat[list(anchor_s)] = False
    afloat &= size_s < 0.5 * size_s[1:].max(initial=0)  # never the person's own large parts
    if afloat.any():
        island_mask |= afloat[lab_s].astype(np.uint8)
        island_areas += size_s[afloat].tolist()
    # Holes: background colour not connected to the background proper, inside the core zone.
    zone = core_zone(face, (h, w))
    in_zone = np.bincount(lab_bg[zone > 0], minlength=n_bg)
    is_hole = in_zone >= m["hole_min_area"]
    is_hole[0] = False
    is_hole[edge_labels] = False
    hole_mask = is_hole[lab_bg].astype(np.uint8)
    hole_areas = in_zone[is_hole].tolist()
    # In the cloth: background enclosed by the thick person only (strands do not enclose).
    cloth = cloth_zone(face, (h, w))
    thick = _thick(not_bg, int(m["cloth_radius"]))
    if cloth.any():
        n_c, lab_c = cv2.connectedComponents((1 - thick).astype(np.uint8), connectivity=4)
        outer_c = np.unique(np.concatenate([lab_c[0], lab_c[:, 0], lab_c[:, -1]]))
        counted = (is_bg > 0) & (cloth > 0)
        in_cloth = np.bincount(lab_c[counted], minlength=n_c)
        hole_c = in_cloth >= m["hole_min_area"]
        hole_c[0] = False
        hole_c[outer_c] = False
        if hole_c.any():
            hole_mask |= (hole_c[lab_c] & counted).astype(np.uint8)
            hole_areas += in_cloth[hole_c].tolist()
    # Bites: background cut into the face, ears, neck or chest from outside (a notch
    # in a temple, a torn cheek line) -- what closing the outline would give back.
    r = int(m["bite_radius"])
    closed = cv2.morphologyEx(
        not_bg, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2)
    )
    bite = (closed > 0) & (not_bg == 0) & (zone > 0)
    # In the cloth, what closing the thick person gives back: a notch between collar and
    # lapel is a bite, the gap beside a strand of long hair is not.
    closed_thick = cv2.morphologyEx(
        thick, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2)
    )
    cloth_bite = (closed_thick > 0) & (not_bg == 0) & (cloth > 0) & ~bite
    bites = (bite | cloth_bite).astype(np.uint8)
    n_b, lab_b, stats_b, _ = cv2.connectedComponentsWithStats(bites, connectivity=8)
    # In the cloth a small wedge is the wall seen where collar and lapel part; a notch is larger.
    cloth_part = np.bincount(lab_b[cloth_bite], minlength=n_b) > 0
    need = np.where(cloth_part, m["cloth_bite_min_area"], m["bite_min_area"])
    is_bite = stats_b[:, cv2.CC_STAT_AREA] >= need
    is_bite[0] = False
    big_bites = stats_b[is_bite, cv2.CC_STAT_AREA]
    rim, kind, spill, spill_mask = _outline(img, dist, main_bg, lab_fg, anchor, face, bg, m)
    haze, haze_mask = _haze(img, dist, not_bg, face, bg, m)
    return MatteFaults(
        island_area=max(island_areas, default=0),
        island_count=len(island_areas),
        hole_area=max(hole_areas, default=0),
        hole_count=len(hole_areas),
        bite_area=int(big_bites.max(initial=0)),
        rim=rim,
        rim_kind=kind,
        spill=spill,
        haze=haze,
        islands=island_mask,
        holes=hole_mask,
        spilled=spill_mask,
        bites=is_bite[lab_b].astype(np.uint8),
        hazy=haze_mask,
    )


def _haze(
    img: NDArray[Any],
    dist: NDArray[Any],
    not_bg: NDArray[Any],
    face: Face,
    bg: NDArray[Any],
    m: dict[str, float],
) -> tuple[int, NDArray[Any]]:
    """Largest thick, smooth patch of hair/background mix above the eyes, and its pixels.

    Each outer-hair pixel is explained as ``a F + (1 - a) B`` with F the hair's
    colour deeper inside; a patch of such mixed pixels (a well between 0 and 1,
    little left unexplained) without texture (the Laplacian of the luminance
    stays low: no strands) counts when it is at least ``haze_min_width`` px
    thick. Hair mixes with the background over a pixel or two and is full of
    texture; a kept lump of a dark backdrop is a smooth ramp many pixels wide.
    """
    h, w = not_bg.shape
    none = np.zeros((h, w), np.uint8)
    y1 = int(min(h, max(0.0, face.eye_y)))
    if y1 < 8:
        return 0, none
    im, nb = img[:y1], not_bg[:y1]
    to_bg = cv2.distanceTransform(nb, cv2.DIST_L2, 3)
    core = (to_bg > m["haze_depth"]).astype(np.float32)
    den, num = _local_mean(im, core, m["haze_sigma"])
    band = (to_bg > 0) & (to_bg <= m["haze_band"]) & (den > 0.02) & (dist[:y1] > 10)
    ys, xs = np.nonzero(band)
    if ys.size < 20:
        return 0, none
    f = num[ys, xs] / den[ys, xs, None]
    px = im[ys, xs]
    fb = f - bg
    a = np.clip(channels.dot(px - bg, fb) / np.maximum(channels.dot(fb, fb), 1.0), 0.0, 1.0)
    unexplained = channels.norm(px - (a[:, None] * f + (1 - a[:, None]) * bg))
    lum = cv2.GaussianBlur(channels.mean(im), (3, 3), 0.8)
    texture = cv2.blur(np.abs(cv2.Laplacian(lum, cv2.CV_32F, ksize=3)), (3, 3))[ys, xs]
    ok = (a > 0.08) & (a < 0.85) & (unexplained < m["haze_delta"]) & (texture < m["haze_texture"])
    mixed = np.zeros((y1, w), np.uint8)
    mixed[ys[ok], xs[ok]] = 1
    smooth: NDArray[Any] = cv2.morphologyEx(mixed, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, lab, stats, _ = cv2.connectedComponentsWithStats(smooth, connectivity=8)
    if n <= 1:
        return 0, none
    depth = cv2.distanceTransform(smooth, cv2.DIST_L2, 3)
    thick = np.unique(lab[depth >= m["haze_min_width"] / 2])
    thick = thick[thick > 0]
    if thick.size == 0:
        return 0, none
    none[:y1] = _member(lab, n, thick).astype(np.uint8)
    return int(stats[thick, cv2.CC_STAT_AREA].max()), none


def _outline(
    img: NDArray[Any],
    dist: NDArray[Any],
    main_bg: NDArray[Any],
    lab_fg: NDArray[Any],
    anchor: set[int],
    face: Face,
    bg: NDArray[Any],
    m: dict[str, float],
) -> tuple[float, str, float, NDArray[Any]]:
    """Worst outline sector for rim (dark/light); spill and its pixels."""
    person = (
        _member(lab_fg, int(lab_fg.max()) + 1, list(anchor)).astype(np.uint8)
        if anchor
        else np.zeros_like(lab_fg, np.uint8)
    )
    none = np.zeros(lab_fg.shape, np.uint8)
    if person.sum() < 100:
        return 0.0, "", 0.0, none
    width = int(m["outline_width"])
    # Distances (px) to the background proper and into the person, computed once.
    to_bg = cv2.distanceTransform((~main_bg).astype(np.uint8), cv2.DIST_L2, 3)
    depth = cv2.distanceTransform(person, cv2.DIST_L2, 3)
    band = (person > 0) & (to_bg <= width)
    # The person's own colour near each outline pixel: from its solid inside only.
    core = ((depth > width + 1) & (dist > m["island_distance"])).astype(np.float32)
    den, num = _local_mean(img, core, m["colour_sigma"])
    ys, xs = np.nonzero(band & (den > 0.02))
    if ys.size < 50:
        return 0.0, "", 0.0, none
    f = num[ys, xs] / den[ys, xs, None]
    px = img[ys, xs]
    fb = f - bg
    n2 = np.maximum(channels.dot(fb, fb), 1.0)
    a = np.clip(channels.dot(px - bg, fb) / n2, 0.0, 1.0)
    mix = a[:, None] * f + (1 - a[:, None]) * bg
    r = px - mix
    lum = channels.mean(r)
    lum_px, lum_f, lum_b = channels.mean(px), channels.mean(f), float(bg.mean())
    delta = m["rim_delta"]
    dark = (lum < -delta) & (lum_px < np.minimum(lum_f, lum_b) - delta)
    light = (lum > delta) & (lum_px > np.maximum(lum_f, lum_b) + delta)
    # Sectors by angle around the face centre; only the head and shoulders' outline.
    cx = face.face_cx
    cy = (face.eye_y + face.chin_y) / 2
    ang = np.arctan2(ys - cy, xs - cx)
    sector = ((ang + math.pi) / (2 * math.pi) * SECTORS).astype(int) % SECTORS
    counts = np.bincount(sector, minlength=SECTORS)
    ok = counts >= m["sector_min_pixels"]
    if not ok.any():
        return 0.0, "", 0.0, none

    def worst(flags: NDArray[Any]) -> float:
        frac = np.bincount(sector, weights=flags.astype(np.float64), minlength=SECTORS)
        return float((frac[ok] / counts[ok]).max())

    d, lt = worst(dark), worst(light)
    kind = "" if max(d, lt) == 0 else ("dark" if d >= lt else "light")
    # Not in the collar and the cloth beside the neck: the outline there runs along collar
    # shadows and lapel seams that no mix of the cloth and the background explains, and
    # the old backdrop left there is a bite (given back as the person, or counted).
    judged = person & (1 - cloth_zone(face, (person.shape[0], person.shape[1])))
    spill, spill_mask = _spill(img, judged, to_bg, depth, bg, m)
    foreign = _foreign_in_hair(img, person, to_bg, face, bg, m)
    if foreign.any():
        spill_mask = spill_mask | foreign
        n, _, stats, _ = cv2.connectedComponentsWithStats(
            cv2.dilate(spill_mask, np.ones((3, 3), np.uint8)), connectivity=8
        )
        spill = float(stats[1:, cv2.CC_STAT_AREA].max()) if n > 1 else 0.0
    return max(d, lt), kind, spill, spill_mask


def _foreign_in_hair(
    img: NDArray[Any], person: NDArray[Any], to_bg: NDArray[Any], face: Face, bg: NDArray[Any], m: dict[str, float]
) -> NDArray[Any]:
    """Saturated colour in the hair that the hair around it does not have.

    Letters or a logo of the old backdrop seen between strands lie deeper than
    the outline; no hair is red or green, and the face (lips, cheeks) and the
    clothes are left out.
    """
    h, w = person.shape
    # Off the outline, where hair mixes with the new background's own saturated colour.
    region = (person > 0) & (to_bg > m["outline_width"] + 1)
    face_h = max(1.0, face.chin_y - face.forehead_y)
    region[int(min(h, max(0, face.chin_y + 0.6 * face_h))) :] = False  # hair, not clothes
    region[core_zone(face, (h, w)) > 0] = False
    if region.sum() < 50:
        return np.zeros((h, w), np.uint8)
    out = np.zeros((h, w), np.uint8)
    ys, xs = np.nonzero(region)
    px = img[ys, xs]
    sat_r = px.max(axis=1) - px.min(axis=1)
    is_cand = sat_r >= m["foreign_saturation"]
    if not is_cand.any():
        return out
    # Only around the saturated pixels (few in clean hair): their box, grown by the window.
    cy, cx = ys[is_cand], xs[is_cand]
    pad = 2 * int(round(m["foreign_sigma"])) + 2
    y0, y1 = max(0, cy.min() - pad), min(h, cy.max() + pad + 1)
    x0, x1 = max(0, cx.min() - pad), min(w, cx.max() + pad + 1)
    weight = np.zeros((h, w), np.float32)
    weight[ys[~is_cand], xs[~is_cand]] = 1.0  # the unsaturated hair around
    den, num = _local_mean(img[y0:y1, x0:x1], weight[y0:y1, x0:x1], m["foreign_sigma"])
    # The rest only at the candidates.
    d = den[cy - y0, cx - x0]
    local = num[cy - y0, cx - x0] / np.maximum(d, 1e-3)[:, None]
    c = px[is_cand]
    # Not a mix of that hair with the new background (hair gaps showing it are fine).
    lb = bg[None, :] - local
    t = np.clip(((c - local) * lb).sum(axis=1) / np.maximum((lb * lb).sum(axis=1), 1.0), 0, 1)
    # Chroma only (the residual's grey part taken out): a highlight or a shadow in the hair
    # changes brightness, a red strand or green leaf seen between strands changes the hue.
    r = c - local - t[:, None] * lb
    far = np.linalg.norm(r - r.mean(axis=1, keepdims=True), axis=1) > m["foreign_distance"]
    hit = far & (d > 0.05)
    out[cy[hit], cx[hit]] = 1
    return out


def _local_mean(img: NDArray[Any], weight: NDArray[Any], sigma: float) -> tuple[NDArray[Any], NDArray[Any]]:
    """Weighted box means (weight sum, weighted colour sum) over a window about 2 sigma wide."""
    k = 2 * int(round(sigma)) + 1
    return cv2.blur(weight, (k, k)), cv2.blur(img * channels.tripled(weight), (k, k))


def _spill(
    img: NDArray[Any],
    person: NDArray[Any],
    to_bg: NDArray[Any],
    depth: NDArray[Any],
    bg: NDArray[Any],
    m: dict[str, float],
) -> tuple[float, NDArray[Any]]:
    """Largest patch of outer-hair pixels whose colour the deeper person colour and B cannot explain.

    The old backdrop seen through or mixed into the hair's edge is part of the
    "person" in the finished file, so the person's colour is taken deeper
    inside (where the old backdrop never reached) and with a wide window.
    """
    band = (person > 0) & (to_bg <= m["spill_width"])
    core = (depth > m["spill_depth"]).astype(np.float32)
    den, num = _local_mean(img, core, m["spill_sigma"])
    ys, xs = np.nonzero(band & (den > 0.02))
    if ys.size < 50:
        return 0.0, np.zeros(person.shape, np.uint8)
    f = num[ys, xs] / den[ys, xs, None]
    px = img[ys, xs]
    fb = f - bg
    a = np.clip(channels.dot(px - bg, fb) / np.maximum(channels.dot(fb, fb), 1.0), 0.0, 1.0)
    r = px - (a[:, None] * f + (1 - a[:, None]) * bg)
    chroma = channels.norm(r - channels.mean(r)[:, None])
    flagged = np.zeros(person.shape, np.uint8)
    hit = chroma > m["spill_delta"]
    flagged[ys[hit], xs[hit]] = 1
    # A tint a reviewer notices is a patch, not scattered pixels: the largest patch counts.
    n, _, stats, _ = cv2.connectedComponentsWithStats(
        cv2.dilate(flagged, np.ones((3, 3), np.uint8)), connectivity=8
    )
    if n <= 1:
        return 0.0, flagged
    return float(stats[1:, cv2.CC_STAT_AREA].max()), flagged


def background_estimate(rgb: NDArray[Any], spec: Spec) -> NDArray[Any] | None:
    """The flat background colour from the top corners, or None when it is not an allowed one."""
    h, w = rgb.shape[:2]
    s = max(4, min(h, w) // 12)
    corners = np.concatenate([rgb[:s, :s].reshape(-1, 3), rgb[:s, -s:].reshape(-1, 3)])
    bg = np.median(corners, axis=0).astype(np.float32)
    near = min(float(np.linalg.norm(bg - np.array(c, np.float32))) for c in spec.colours.values())
    return bg if near <= spec.bg_max_distance else None


def matte_items(rgb: NDArray[Any], face: Face, spec: Spec) -> list[Item]:
    """Report items for islands, holes, rim, spill and haze, measured in the spec's pixel frame."""
    h = rgb.shape[0]
    k = spec.height / h
    if abs(k - 1.0) > 1e-3:
        rgb = cv2.resize(rgb, (round(rgb.shape[1] * k), spec.height), interpolation=cv2.INTER_AREA)
        face = face.transformed(k)
    bg = background_estimate(rgb, spec)
    m = spec.matte
    if bg is None:  # no flat allowed background: the background items already fail
        return [
            make_item(name, None, "-", "pass", "unmeasured")
            for name in ("matte_islands", "matte_holes", "matte_rim", "matte_spill", "matte_haze")
        ]
    f = measure(rgb, face, bg, spec)
    return [
        at_most("matte_islands", f.island_area, m["island_max_area"], None, " px"),
        at_most("matte_holes", max(f.hole_area, f.bite_area), m["hole_max_area"], None, " px"),
        _with_reason(at_most("matte_rim", f.rim, m["rim_max"], m["rim_warn"]), f.rim_kind),
        at_most("matte_spill", f.spill, m["spill_max"], m["spill_warn"], " px"),
        at_most("matte_haze", f.haze, m["haze_max"], m["haze_warn"], " px"),
    ]


def _with_reason(item: Item, reason: str) -> Item:
    if item.verdict == "pass" or not reason:
        return item
    return make_item(item.name, item.value, item.limit, item.verdict, reason)
