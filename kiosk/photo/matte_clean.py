"""Clean the matte by what a reviewer would see: islands and spill out, holes in skin filled.

The composite is looked at the way ``matte_check`` judges a finished file, at
the file's own size: pieces of the old background floating in the new one
(islands), patches of its colour left in the hair's edge (spill) and a soft
haze of a dark backdrop kept over the hair top are taken out of the matte; background colour enclosed in the face, ears, neck or chest
(holes) is given back to the person, with the picture's own pixels. The
change is made on the master's alpha, so prints and the file agree.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from kiosk.photo import matte_check
from kiosk.photo.analysis import Face
from kiosk.photo.matting import Matte
from kiosk.photo.spec import Spec

STRICT_DISTANCE = 1.15  # cleaning counts pieces held by a slightly stronger haze as afloat ...
STRICT_AREA = 0.6  # ... and smaller than the report's limits
SPILL_REACH = 12  # px of the 480x640 picture: how far a spill patch's colour is followed
SPILL_SIMILAR = 45.0  # RGB distance to the patch's own colour that counts as the same stuff
SPILL_SATURATION = 90.0  # max - min of RGB: a colour no hair has ...
SPILL_FOREIGN = 100.0  # ... this far from the person's colour nearby
SPILL_HUE = 45.0  # RGB chroma (grey part taken out) from the person's colour: not the person
SPILL_BESIDE = 0.5  # a colour this much nearer some old-backdrop pixel beside it than the person
BITE_REACH = 8  # px of the 480x640 picture around a bite where the old backdrop is sampled
BITE_BACKDROP = 18.0  # RGB distance from that backdrop beyond which a bitten pixel is the person
BITE_PERSON = 0.5  # share of a bite's pixels that must be the person for it to be given back
HAZE_FRINGE = 2  # px of the 480x640 picture: the thin edge of a haze taken out with it ...
HAZE_SOFT = 0.6  # ... where the matte's alpha is below this (the fainter half of the ramp)


def _old_backdrop(
    spilled: NDArray[Any], source: NDArray[Any], alpha: NDArray[Any], zone: NDArray[Any]
) -> tuple[NDArray[Any], list[tuple[NDArray[Any], NDArray[Any]]]]:
    """Of the spill patches, those that are the old backdrop, followed through the strands.

    A patch counts only when its colour in the source is nearer the old
    background around it (alpha 0) than the person around it (alpha 1), or is
    found in that old background beside it (a logo or letters partly behind
    the hair), or has a hue the person around it has not (a coloured shape of a
    busy backdrop, red strands of a red backdrop, a green leaf between strands --
    judged by hue alone when no old background is near, deep in the hair): a red
    backdrop seen between strands is; a brown highlight in dark hair is not. Taking out only the flagged pixels would bare the
    next ring of the same colour, so the patch's colour is followed a little
    way -- never into the face, the ears, the neck or the chest.

    The other patches are the person, tinted by a foreground colour the matte
    estimated wrongly: they are returned (mask, the person's colour nearby) to
    be recoloured -- the decontamination done again with a better colour.
    """
    h, w = spilled.shape
    out = np.zeros((h, w), bool)
    recolour: list[tuple[NDArray[Any], NDArray[Any]]] = []
    n, labels, stats, _ = cv2.connectedComponentsWithStats(spilled, connectivity=8)
    ker = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * SPILL_REACH + 1,) * 2)
    src = source.astype(np.float32)
    for lab in range(1, n):
        x, y, bw, bh = stats[lab, :4]
        y0, y1 = max(0, y - SPILL_REACH), min(h, y + bh + SPILL_REACH)
        x0, x1 = max(0, x - SPILL_REACH), min(w, x + bw + SPILL_REACH)
        patch = (labels[y0:y1, x0:x1] == lab).astype(np.uint8)
        box, a = src[y0:y1, x0:x1], alpha[y0:y1, x0:x1]
        colour = np.median(box[patch > 0], axis=0)
        back, person = box[a < 0.05], box[(a > 0.95) & (patch == 0)]
        if len(person) < 10:
            continue
        own = np.median(person, axis=0)
        d_person = float(np.linalg.norm(colour - own))
        saturated = float(colour.max() - colour.min()) > SPILL_SATURATION
        # A hue the person has nowhere near (a red letter, a green leaf between strands);
        # a highlight or shadow of the hair differs in brightness, not in hue.
        diff = colour - own
        foreign = float(np.linalg.norm(diff - diff.mean())) > SPILL_HUE or (
            saturated and d_person > SPILL_FOREIGN
        )
        if len(back) < 10:  # deep in the hair, no backdrop beside it: by its hue alone
            near_backdrop = False
        else:
            d_back = float(np.linalg.norm(colour - np.median(back, axis=0)))
            # The colour is there in the old backdrop right beside it (a logo, letters
            # partly hidden by the hair), and not what the person has there.
            in_backdrop = float(np.percentile(np.linalg.norm(back - colour, axis=1), 5))
            near_backdrop = d_back < d_person or in_backdrop < SPILL_BESIDE * d_person
        if not near_backdrop and not foreign:
            if len(back) < 10:
                continue
            mask = np.zeros((h, w), bool)
            mask[y0:y1, x0:x1] = cv2.dilate(patch, np.ones((3, 3), np.uint8)) > 0
            recolour.append((mask, np.median(person, axis=0)))
            continue
        near = cv2.dilate(patch, ker) > 0
        similar = np.linalg.norm(box - colour, axis=2) < SPILL_SIMILAR
        out[y0:y1, x0:x1] |= near & similar & (zone[y0:y1, x0:x1] == 0)
    return out, recolour


def _not_backdrop(bites: NDArray[Any], source: NDArray[Any], alpha: NDArray[Any]) -> NDArray[Any]:
    """Of the bites into face, neck or chest, the pixels that are not the old backdrop.

    A white collar against a pale wall, or a jaw against a skin-coloured one, is
    cut away by a colour solve that sees no difference worth trusting; the bite
    it leaves is given back, with the picture's own pixels, when most of them
    differ from the old backdrop right beside it. A real gap (the wall seen
    between a thin neck and a shoulder) matches that backdrop and stays background.
    """
    h, w = bites.shape
    out = np.zeros((h, w), bool)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(bites, connectivity=8)
    src = source.astype(np.float32)
    for lab in range(1, n):
        x, y, bw, bh = stats[lab, :4]
        y0, y1 = max(0, y - BITE_REACH), min(h, y + bh + BITE_REACH)
        x0, x1 = max(0, x - BITE_REACH), min(w, x + bw + BITE_REACH)
        box, a = src[y0:y1, x0:x1], alpha[y0:y1, x0:x1]
        inside = labels[y0:y1, x0:x1] == lab
        back = box[(a < 0.05) & ~inside]
        if len(back) < 10:  # no backdrop beside it (a hole in a cheek): the person
            out[y0:y1, x0:x1] |= inside
            continue
        # The backdrop colour nearest each bitten pixel (a wall may shade across the box).
        near = np.percentile(
            np.linalg.norm(box[inside][:, None, :] - back[None, :: max(1, len(back) // 256)], axis=2),
            5, axis=1,
        )  # fmt: skip
        # Whole or not at all: filling only part of a bite reshapes the outline into new bites.
        if (near > BITE_BACKDROP).mean() >= BITE_PERSON:
            out[y0:y1, x0:x1] |= inside
    return out


def _haze(
    hazy: NDArray[Any],
    alpha: NDArray[Any],
    source: NDArray[Any],
    face: Face,
    size: tuple[int, int],
    texture: float,
) -> NDArray[Any]:
    """Of the haze over the hair top and its thin fringe, what the picture shows smooth.

    What the report measures is the thick part of a smooth patch; its edges are
    the same haze, thinner, so the patch is grown by ``HAZE_FRINGE`` px over
    pixels the matte left soft. Only pixels without texture in the picture
    itself are taken out (a lump of backdrop, or the dark backdrop itself beside
    dark hair): strands under the haze are textured and stay, so the hair keeps
    its own outline rather than one cut along the haze. Never the face.
    """
    ker = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * HAZE_FRINGE + 1,) * 2)
    grown = cv2.dilate(hazy.astype(np.uint8), ker) > 0
    soft = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA) < HAZE_SOFT
    src = cv2.resize(source, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    lum = cv2.GaussianBlur(src.mean(axis=2), (3, 3), 0.8)
    smooth = cv2.blur(np.abs(cv2.Laplacian(lum, cv2.CV_32F, ksize=3)), (3, 3)) < texture
    core = matte_check.core_zone(face, (size[1], size[0])) > 0
    out: NDArray[Any] = grown & soft & smooth & ~core
    return out


def _large_patches(mask: NDArray[Any], min_area: float) -> NDArray[Any]:
    """Only the patches a reviewer could notice: a few tinted pixels are left alone."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(
        cv2.dilate(mask, np.ones((3, 3), np.uint8)), connectivity=8
    )
    big = stats[:, cv2.CC_STAT_AREA] >= min_area
    big[0] = False
    patches: NDArray[np.uint8] = (big[labels] & (mask > 0)).astype(np.uint8)
    return patches


def _stricter(spec: Spec) -> dict[str, float]:
    """The spec's matte limits with a margin, for the kiosk's own cleaning."""
    m = dict(spec.matte)
    m["afloat_distance"] *= STRICT_DISTANCE
    m["island_min_area"] = max(1.0, m["island_min_area"] * STRICT_AREA)
    m["hole_min_area"] = max(1.0, m["hole_min_area"] * STRICT_AREA)
    m["bite_min_area"] = max(1.0, m["bite_min_area"] * STRICT_AREA)
    return m


def _recolour(
    m: Matte, patches: list[tuple[NDArray[Any], NDArray[Any]]], size: tuple[int, int]
) -> bool:
    """Give the band pixels of each tinted patch the person's own colour nearby."""
    changed = False
    if m.recoloured is None or len(m.recoloured) != len(m.ys):
        m.recoloured = np.zeros(len(m.ys), bool)
    for mask, colour in patches:
        big = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
        # Each band pixel once: a patch of inside pixels cannot be recoloured, and
        # asking again must not loop.
        sel = big[m.ys, m.xs] & ~m.recoloured
        if sel.any():
            m.fg[sel] = colour.astype(np.float32)
            m.recoloured |= sel
            changed = True
    return changed


def _decide_hard(m: Matte, remove: NDArray[Any], fill: NDArray[Any], size: tuple[int, int]) -> None:
    """Remove and fill enlarged pixel for pixel (no source to give filled pixels a colour)."""
    remove_big = cv2.resize(remove, size, interpolation=cv2.INTER_NEAREST) > 0
    fill_big = cv2.resize(fill, size, interpolation=cv2.INTER_NEAREST) > 0
    remove_big &= ~fill_big
    m.alpha[remove_big] = 0.0
    m.inside[remove_big] = 0
    m.alpha[fill_big] = 1.0
    m.inside[fill_big] = 1
    # The band keeps its own list: drop the pixels now decided either way.
    keep = ~(remove_big[m.ys, m.xs] | fill_big[m.ys, m.xs])
    m.ys, m.xs, m.fg = m.ys[keep], m.xs[keep], m.fg[keep]
    if m.recoloured is not None:
        m.recoloured = m.recoloured[keep]


def _decide_smooth(m: Matte, remove: NDArray[Any], fill: NDArray[Any], source: NDArray[Any]) -> bool:
    """Remove and fill with the masks enlarged smoothly onto the master.

    The decisions are made at the file's size; enlarged pixel for pixel they
    would cut the master (and every print made from it) in steps of the scale
    factor (2.5 px at 1600 px). Enlarged bilinearly they are a ramp one file
    pixel wide: alpha is capped by what is kept, raised to what is filled, and
    the pixels left between 0 and 1 join the band, filled ones with the
    picture's own colour. False when no pixel's alpha changed (a patch judged
    again is the same decision, not a new shape).
    """
    h, w = m.alpha.shape
    # A fill first grown over the person around it, so its ramp lies there (where alpha
    # is 1 already) and a hole is filled whole; only where it meets the background does
    # the ramp show, as a soft edge.
    sh, sw = fill.shape
    person = cv2.resize(m.alpha, (sw, sh), interpolation=cv2.INTER_AREA) > 0.5
    fill = fill | (cv2.dilate(fill, np.ones((3, 3), np.uint8)) & person.astype(np.uint8))
    rem = cv2.resize(remove.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    fil = cv2.resize(fill.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    ys, xs = np.nonzero((rem > 0) | (fil > 0))
    if ys.size == 0:
        return False
    old = m.alpha[ys, xs]
    r, f = rem[ys, xs], fil[ys, xs]
    new = np.maximum(np.minimum(old, 1.0 - r), f)  # the same decision twice changes nothing
    new[new < 1e-3] = 0.0
    new[new > 1.0 - 1e-3] = 1.0
    if not (np.abs(new - old) > 0.02).any():
        return False
    # Colours: the band's own where it was band, the picture's where it was solid or filled.
    fg = source[ys, xs].astype(np.float32)
    rec = np.zeros(ys.size, bool)
    if m.recoloured is None or len(m.recoloured) != len(m.ys):
        m.recoloured = np.zeros(len(m.ys), bool)
    touched = np.zeros((h, w), bool)
    touched[ys, xs] = True
    in_band = touched[m.ys, m.xs]
    if in_band.any():
        pos = np.full((h, w), -1, np.int32)
        pos[ys, xs] = np.arange(ys.size, dtype=np.int32)
        j = pos[m.ys[in_band], m.xs[in_band]]
        given = f[j] <= old[j]  # not raised by a fill: keeps its solved colour
        fg[j[given]] = m.fg[in_band][given]
        rec[j[given]] = m.recoloured[in_band][given]
    m.alpha[ys, xs] = new
    m.inside[ys, xs] = (new >= 1.0).astype(np.uint8)
    soft = (new > 0.0) & (new < 1.0)
    keep = ~in_band
    m.ys = np.concatenate([m.ys[keep], ys[soft]])
    m.xs = np.concatenate([m.xs[keep], xs[soft]])
    m.fg = np.concatenate([m.fg[keep], fg[soft]])
    m.recoloured = np.concatenate([m.recoloured[keep], rec[soft]])
    return True


def clean(
    m: Matte,
    composite: NDArray[Any],
    face: Face,
    spec: Spec,
    source: NDArray[Any] | None = None,
    judged: NDArray[Any] | None = None,
) -> str:
    """Edit ``m`` in place; what changed: "" (nothing), "recoloured" (colours only) or
    "reshaped" (pieces taken out or holes filled, which may bare more to clean).
    The caller composites again after either.

    ``source`` is the picture the matte was made from (master size); with it,
    spill that is the old backdrop is taken out and followed through the strands.
    ``judged`` is the picture to measure at the spec's size (the decoded file);
    by default the composite reduced to that size.
    """
    h, w = composite.shape[:2]
    k = spec.height / h
    size = (round(w * k), spec.height)
    small = (
        judged
        if judged is not None and judged.shape[:2] == (size[1], size[0])
        else cv2.resize(composite, size, interpolation=cv2.INTER_AREA)
    )
    face_s = face.transformed(k)
    f = matte_check.measure(small, face_s, np.array(spec.bg_rgb, np.float32), spec, _stricter(spec))
    spilled = _large_patches(f.spilled, spec.matte["spill_clean_area"])
    remove = f.islands > 0
    recolour: list[tuple[NDArray[Any], NDArray[Any]]] = []
    fill = f.holes > 0
    bitten = f.holes | f.bites
    if source is not None and (spilled.any() or bitten.any()):
        src_s = cv2.resize(source, size, interpolation=cv2.INTER_AREA)
        alpha_s = cv2.resize(m.alpha, size, interpolation=cv2.INTER_AREA)
    if source is not None and spilled.any():
        # Never into face, neck or chest, nor the collar and cloth beside the neck: a
        # white collar by a pale wall is not spill, and following its colour eats it.
        shape_s = (small.shape[0], small.shape[1])
        zone = matte_check.core_zone(face_s, shape_s) | matte_check.cloth_zone(face_s, shape_s)
        backdrop, recolour = _old_backdrop(spilled, src_s, alpha_s, zone)
        remove = remove | backdrop
        # There, a tinted patch is a soft alpha where the person is solid (the shadow
        # between neck and collar against a grey wall): judged like a bite below.
        bitten = bitten | (spilled & zone)
    if source is not None and bitten.any():  # (src_s and alpha_s were made above)
        # Holes and bites are given back where the picture shows the person there, never
        # the old backdrop (a wall seen between collar and neck would stay a pale scrap).
        grown = cv2.dilate(bitten, np.ones((3, 3), np.uint8))  # the soft edge too ...
        fill = _not_backdrop(grown, src_s, alpha_s)  # ... where it is not the backdrop
    if f.hazy.any() and source is not None:
        remove = remove | _haze(f.hazy, m.alpha, source, face_s, size, spec.matte["haze_texture"])
    recoloured = _recolour(m, recolour, (w, h))
    if not remove.any() and not fill.any():
        return "recoloured" if recoloured else ""
    grow = np.ones((3, 3), np.uint8)
    remove_u8 = cv2.dilate(remove.astype(np.uint8), grow)
    if source is None:
        fill = cv2.dilate(fill.astype(np.uint8), grow) > 0
        _decide_hard(m, remove_u8, fill.astype(np.uint8), (w, h))
    elif not _decide_smooth(m, remove_u8, fill.astype(np.uint8), source):
        return "recoloured" if recoloured else ""
    return "reshaped"
