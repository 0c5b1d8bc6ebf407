"""Independent re-measurement of a finished photo: its own mediapipe graphs, its own rules.

Nothing here calls the pipeline's analysis or checks, so a bug there cannot
hide itself: landmarks are found again on the decoded output file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import mediapipe as mp
import numpy as np
from PIL import Image

_mesh = mp.solutions.face_mesh.FaceMesh(
    static_image_mode=True, max_num_faces=2, refine_landmarks=True
)
_seg = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)


@dataclass
class Measured:
    faces: int
    eye_y: float
    face_width: float
    face_cx: float
    roll: float
    hair_top: float
    landmarks: np.ndarray


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def landmarks(rgb: np.ndarray) -> tuple[int, np.ndarray | None]:
    res = _mesh.process(np.ascontiguousarray(rgb))
    if not res.multi_face_landmarks:
        return 0, None
    h, w = rgb.shape[:2]
    pts = np.array([[p.x * w, p.y * h] for p in res.multi_face_landmarks[0].landmark])
    return len(res.multi_face_landmarks), pts


def person_mask(rgb: np.ndarray) -> np.ndarray:
    return _seg.process(np.ascontiguousarray(rgb)).segmentation_mask


def measure(data: bytes, bg_rgb: tuple[int, int, int]) -> Measured:
    rgb = decode(data)
    n, pts = landmarks(rgb)
    assert pts is not None, "no face found again on the output"
    eye_l, eye_r = pts[468], pts[473]
    # Hair top: first row, over the head, that clearly differs from the flat background.
    cx = (pts[234, 0] + pts[454, 0]) / 2
    fw = float(np.linalg.norm(pts[454] - pts[234]))
    x0, x1 = int(max(0, cx - 0.8 * fw)), int(min(rgb.shape[1], cx + 0.8 * fw))
    dist = np.linalg.norm(rgb[:, x0:x1].astype(np.float32) - np.array(bg_rgb, np.float32), axis=2)
    rows = np.flatnonzero((dist > 60).sum(axis=1) >= 3)
    hair = float(rows[0]) if rows.size else float("nan")
    d = eye_r - eye_l
    return Measured(
        faces=n,
        eye_y=float((eye_l[1] + eye_r[1]) / 2),
        face_width=fw,
        face_cx=float(cx),
        roll=float(np.degrees(np.arctan2(d[1], d[0]))),
        hair_top=hair,
        landmarks=pts,
    )


def similarity_to_source(
    output: np.ndarray, out_pts: np.ndarray, source: np.ndarray, src_pts: np.ndarray
) -> tuple[float, float]:
    """Correlation of the output's head with the source head mapped onto it, and with its mirror.

    The map uses the two eye centres and the chin (scale and shift only, as the
    pipeline may not rotate); the mirrored source is the same map flipped about
    the face's vertical axis.
    """
    ids = [468, 473, 152]
    so = np.linalg.norm(out_pts[473] - out_pts[468])
    ss = np.linalg.norm(src_pts[473] - src_pts[468])
    k = so / ss
    c_out = out_pts[ids].mean(axis=0)
    c_src = src_pts[ids].mean(axis=0)
    h, w = output.shape[:2]

    def warp(flip: bool) -> np.ndarray:
        sx = -k if flip else k
        m = np.array([[sx, 0, c_out[0] - sx * c_src[0]], [0, k, c_out[1] - k * c_src[1]]])
        return cv2.warpAffine(source, m, (w, h), flags=cv2.INTER_AREA)

    fw = np.linalg.norm(out_pts[454] - out_pts[234])
    x0, x1 = int(max(0, c_out[0] - 0.6 * fw)), int(min(w, c_out[0] + 0.6 * fw))
    y0, y1 = int(max(0, out_pts[10, 1])), int(min(h, out_pts[152, 1]))
    g_out = cv2.cvtColor(output, cv2.COLOR_RGB2GRAY)[y0:y1, x0:x1].astype(np.float32)

    def corr(img: np.ndarray) -> float:
        g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)[y0:y1, x0:x1].astype(np.float32)
        a, b = g_out - g_out.mean(), g - g.mean()
        return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))

    return corr(warp(False)), corr(warp(True))


@dataclass
class MatteFaults:
    """What a reviewer would point at, measured by simple rules of this file's own."""

    islands: list[int]  # areas (px) of non-background pieces apart from the person
    holes: list[int]  # areas (px) of background colour enclosed inside the face hull
    dark_rim: float  # fraction of head-top columns whose outline is darker than both sides
    red_edge: int  # outline pixels that are strongly red (an old red backdrop or red letters)
    red_hair: int = 0  # strongly red pixels in the hair beside the face (strands of a red backdrop)


def matte_faults(data: bytes) -> MatteFaults:
    """Islands, holes, a dark rim on the head's top, and red along the outline.

    The background colour is read from the top row; the face hull from this
    file's own face mesh; everything else is thresholds on colour distance.
    """
    rgb = decode(data)
    h, w = rgb.shape[:2]
    img = rgb.astype(np.float32)
    bg = np.median(img[:4].reshape(-1, 3), axis=0)
    dist = np.linalg.norm(img - bg, axis=2)
    solid = (dist > 50).astype(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(solid, connectivity=8)
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    bottom = set(np.unique(lab[-1]).tolist())
    islands = [
        int(stats[i, cv2.CC_STAT_AREA])
        for i in range(1, n)
        if i != biggest and i not in bottom and stats[i, cv2.CC_STAT_AREA] >= 8
    ]
    # Holes: background colour inside the face mesh's hull grown by a fifth (ears).
    _, pts = landmarks(rgb)
    hull = cv2.convexHull(pts.astype(np.float32))
    c = hull.reshape(-1, 2).mean(axis=0)
    grown = ((hull.reshape(-1, 2) - c) * 1.2 + c).astype(np.int32)
    face = np.zeros((h, w), np.uint8)
    cv2.fillPoly(face, [grown], 1)
    is_bg = (dist < 20).astype(np.uint8)
    nb, lab_b, stats_b, _ = cv2.connectedComponentsWithStats(is_bg, connectivity=4)
    outer = set(np.unique(np.concatenate([lab_b[0], lab_b[:, 0], lab_b[:, -1]])).tolist())
    holes = [
        int((face[lab_b == i] > 0).sum())
        for i in range(1, nb)
        if i not in outer and (face[lab_b == i] > 0).sum() >= 8
    ]
    # Dark rim on the head's top: per column over the head, the first person pixel
    # against the background above it and the hair 6 px below it.
    lum = img.mean(axis=2)
    cx = (pts[234, 0] + pts[454, 0]) / 2
    fw = float(np.linalg.norm(pts[454] - pts[234]))
    rims = cols = 0
    for x in range(int(max(0, cx - 0.5 * fw)), int(min(w, cx + 0.5 * fw))):
        ys = np.flatnonzero(dist[:, x] > 50)
        if ys.size == 0 or ys[0] + 8 >= h or ys[0] < 3:
            continue
        y = ys[0]
        edge = lum[y : y + 2, x].min()
        inner = lum[y + 5 : y + 8, x].mean()
        cols += 1
        rims += edge < min(inner, lum[y - 3, x]) - 30
    # Red along the outline: pixels within 3 px of the background that are strongly red.
    near_bg = cv2.dilate((dist < 20).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    red = (img[..., 0] - np.maximum(img[..., 1], img[..., 2])) > 70
    # Red in the hair: above the chin, outside the face hull (lips and cheeks left out).
    hair = np.zeros((h, w), bool)
    hair[: int(pts[152, 1])] = True
    hair &= (face == 0) & (solid > 0)
    return MatteFaults(
        islands=islands,
        holes=holes,
        dark_rim=rims / cols if cols else 0.0,
        red_edge=int((near_bg & red & (solid > 0)).sum()),
        red_hair=int((hair & red).sum()),
    )



def haze_px(data: bytes) -> int:
    """Pixels of a thick, textureless haze along the outline above the brow.

    Rules of this file's own: near the background (within 10 px of it), a pixel
    is part-way between it and the hair beside it (farther than 25 from the
    background, nearer than 0.7 of the farthest colour within 7 px), its
    luminance bends little (second differences along rows and columns under 4:
    strands of hair bend it a lot, a smooth ramp not at all), and such pixels
    fill a 5x5 square (a mixed edge of real hair is 1-3 px wide).
    """
    rgb = decode(data)
    _, pts = landmarks(rgb)
    assert pts is not None, "no face found again on the output"
    brow = int(pts[10, 1])
    img = rgb[:brow].astype(np.float32)
    bg = np.median(img[:4].reshape(-1, 3), axis=0)
    dist = np.linalg.norm(img - bg, axis=2)
    beside = cv2.dilate(dist, np.ones((15, 15), np.uint8))
    near = cv2.distanceTransform((dist >= 20).astype(np.uint8), cv2.DIST_L2, 3) <= 10
    g = cv2.blur(img.mean(axis=2), (2, 2))
    bend = np.full(g.shape, 255.0, np.float32)
    dxx = np.abs(g[1:-1, 2:] + g[1:-1, :-2] - 2 * g[1:-1, 1:-1])
    dyy = np.abs(g[2:, 1:-1] + g[:-2, 1:-1] - 2 * g[1:-1, 1:-1])
    bend[1:-1, 1:-1] = cv2.blur(np.maximum(dxx, dyy), (3, 3))
    mixed = (near & (dist > 25) & (dist < 0.7 * beside) & (bend < 4)).astype(np.uint8)
    return int(cv2.morphologyEx(mixed, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8)).sum())


def hard_steps(rgb: np.ndarray) -> int:
    """Pixels where the picture jumps from the flat background to solid colour in one pixel.

    A matte edge always mixes the two over a pixel or more; a mask enlarged
    pixel for pixel (2.5 px blocks on the 1600 px master) jumps, in steps.
    """
    img = rgb.astype(np.float32)
    bg = np.median(img[:8].reshape(-1, 3), axis=0)
    d = np.linalg.norm(img - bg, axis=2)
    back, solid = d < 12, d > 100
    step = np.zeros(d.shape, bool)
    step[:, :-1] |= (back[:, :-1] & solid[:, 1:]) | (solid[:, :-1] & back[:, 1:])
    step[:-1] |= (back[:-1] & solid[1:]) | (solid[:-1] & back[1:])
    return int(step.sum())


def notch_px(data: bytes) -> int:
    """Background-coloured pixels cut into the collar and the cloth beside the neck.

    Under the chin, within 0.7 face widths of the face's centre, a background
    pixel counts when, along its row, the person is within 6 px on both sides
    of it and it lies under solid person colour within 12 px above: a slot
    into the cloth, not the open background beside the shoulders.
    """
    rgb = decode(data)
    _, pts = landmarks(rgb)
    assert pts is not None, "no face found again on the output"
    h, w = rgb.shape[:2]
    img = rgb.astype(np.float32)
    bg = np.median(img[:4].reshape(-1, 3), axis=0)
    dist = np.linalg.norm(img - bg, axis=2)
    back, person = dist < 20, (dist > 50).astype(np.uint8)
    cx = (pts[234, 0] + pts[454, 0]) / 2
    fw = float(np.linalg.norm(pts[454] - pts[234]))
    chin = pts[152, 1]
    region = np.zeros((h, w), bool)
    region[int(chin - 0.15 * fw) : int(chin + 0.5 * fw), int(max(0, cx - 0.7 * fw)) : int(cx + 0.7 * fw)] = True
    left = cv2.dilate(person, np.concatenate([np.zeros((1, 6), np.uint8), np.ones((1, 7), np.uint8)], axis=1))
    right = cv2.dilate(person, np.concatenate([np.ones((1, 7), np.uint8), np.zeros((1, 6), np.uint8)], axis=1))
    return int((region & back & (left > 0) & (right > 0)).sum())
