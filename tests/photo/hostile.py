"""Hostile backgrounds, made procedurally, composited around the sample portraits.

The person is cut from a sample portrait by the pipeline's own steps up to the
matte (alpha and decontaminated foreground at master size), then laid over a
generated background with the same soft alpha, so the edges mix the new
backdrop into hair as a camera would. Backgrounds: busy shapes, a saturated
red backdrop, a backlit window with light wrapping round the hair, CJK text
with red logos, and bokeh lights.
"""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from kiosk.fonts import font_path
from kiosk.photo.pipeline import STEPS, Options, PhotoJob
from kiosk.photo.spec import Spec

KINDS = ("busy", "coloured", "backlit", "text", "bokeh")


def cut_person(path: Path, spec: Spec) -> tuple[np.ndarray, np.ndarray]:
    """(foreground RGB float32, alpha float32) at master size, from the pipeline's matte."""
    ctx = PhotoJob(spec, Options(), path)
    for name, step in STEPS:
        step(ctx)
        if name == "matte":
            break
    m = ctx.matte
    fg = ctx.master_rgb.astype(np.float32)
    fg[m.ys, m.xs] = m.fg
    return fg, m.alpha.copy()


def _busy(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    img = np.full((h, w, 3), 128, np.uint8)
    for _ in range(120):
        c = tuple(int(v) for v in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        s = int(rng.integers(20, 260))
        kind = rng.integers(0, 3)
        if kind == 0:
            cv2.rectangle(img, (x, y), (x + s, y + int(rng.integers(20, 260))), c, -1)
        elif kind == 1:
            cv2.circle(img, (x, y), s // 2, c, -1)
        else:
            cv2.line(
                img,
                (x, y),
                (int(rng.integers(0, w)), int(rng.integers(0, h))),
                c,
                int(rng.integers(3, 25)),
            )
    noise = rng.normal(0, 8, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def _coloured(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    vignette = 1.0 - 0.35 * (((xx - w / 2) / w) ** 2 + ((yy - h / 3) / h) ** 2)
    base = np.array([205, 28, 38], np.float32)
    img = base[None, None, :] * vignette[..., None] + rng.normal(0, 5, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def _backlit(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.sqrt(((xx - w / 2) / (0.5 * w)) ** 2 + ((yy - 0.28 * h) / (0.45 * h)) ** 2)
    glow = np.clip(1.2 - r, 0, 1) ** 0.7
    img = 90 + 165 * glow[..., None] * np.array([1.0, 0.99, 0.95], np.float32)
    img[:, :, :] += rng.normal(0, 3, img.shape)
    # Window bars.
    out = np.clip(img, 0, 255).astype(np.uint8)
    for x in (w // 6, 5 * w // 6):
        cv2.line(out, (x, 0), (x, h), (70, 70, 75), 18)
    cv2.line(out, (0, h // 8), (w, h // 8), (70, 70, 75), 18)
    return out


def _text(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    img = Image.new("RGB", (w, h), (236, 232, 222))
    draw = ImageDraw.Draw(img)
    fp = font_path()
    font = ImageFont.truetype(str(fp), 150) if fp else ImageFont.load_default()
    small = ImageFont.truetype(str(fp), 70) if fp else ImageFont.load_default()
    words = ["毕业典礼", "学信网", "欢迎光临", "图像采集", "校园"]
    y = 20
    while y < h:
        x = int(rng.integers(-100, 50))
        while x < w:
            word = words[int(rng.integers(0, len(words)))]
            colour = (200, 20, 30) if rng.random() < 0.6 else (30, 30, 30)
            draw.text((x, y), word, font=font, fill=colour)
            x += 660
        y += 190
    # Red logos: a disc with white letters, two of them low beside the neck.
    for cx, cy in (
        (int(0.2 * w), int(0.8 * h)),
        (int(0.82 * w), int(0.72 * h)),
        (int(0.15 * w), int(0.2 * h)),
    ):
        draw.ellipse((cx - 90, cy - 90, cx + 90, cy + 90), fill=(210, 16, 32))
        draw.text((cx - 70, cy - 40), "LOGO", font=small, fill=(255, 255, 255))
    return np.asarray(img)


def _bokeh(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    img = np.zeros((h, w, 3), np.float32)
    img[:] = (25, 50, 35)
    lights = np.zeros((h, w, 3), np.float32)
    for _ in range(70):
        c = np.array(
            [(255, 220, 150), (255, 120, 80), (180, 220, 255), (255, 255, 255)][
                int(rng.integers(0, 4))
            ],
            np.float32,
        )
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.circle(
            lights,
            (x, y),
            int(rng.integers(15, 70)),
            tuple(float(v) for v in c * rng.uniform(0.5, 1.0)),
            -1,
        )
    lights = cv2.GaussianBlur(lights, (0, 0), 6)
    return np.clip(img + lights, 0, 255).astype(np.uint8)


MAKERS = {"busy": _busy, "coloured": _coloured, "backlit": _backlit, "text": _text, "bokeh": _bokeh}


def background(kind: str, h: int, w: int, seed: int = 11) -> np.ndarray:
    return MAKERS[kind](h, w, np.random.default_rng(seed))


def composite(fg: np.ndarray, alpha: np.ndarray, bg: np.ndarray, kind: str) -> np.ndarray:
    """The person over the backdrop; a backlit scene also wraps light round the outline."""
    a = alpha[..., None]
    out = a * fg + (1 - a) * bg.astype(np.float32)
    if kind == "backlit":
        light = cv2.GaussianBlur(bg.astype(np.float32) * (1 - a), (0, 0), 12)
        edge = np.clip(cv2.GaussianBlur(1 - alpha, (0, 0), 6), 0, 1)[..., None] * a
        out = out + 0.45 * edge * light
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def hostile_jpeg(fg: np.ndarray, alpha: np.ndarray, kind: str, seed: int = 11) -> bytes:
    h, w = alpha.shape
    rgb = composite(fg, alpha, background(kind, h, w, seed), kind)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=92)
    return buf.getvalue()


# --- the known misses: a backdrop made to hit one weakness each ----------------------------
#
# Each is laid around a sample portrait knowing where its hair and shirt are (from the
# cut alpha), as a real backdrop happens to be placed: a dark lump just over the hair
# top on a dark backdrop, a white backdrop behind a white collar, thin red strands
# (flyaway hair over a red backdrop, the red seen between them).

MISSES = ("dark_lump", "white_collar", "red_strands")


def _hair_top(alpha: np.ndarray) -> tuple[int, int, int]:
    """(row, centre column, half width) of the person's top, from the cut alpha."""
    rows = np.flatnonzero((alpha > 0.5).sum(axis=1) > 0)
    top = int(rows[0])
    below = alpha[top + alpha.shape[0] // 12] > 0.5
    xs = np.flatnonzero(below)
    return top, int(xs.mean()), int((xs[-1] - xs[0]) / 2)


def _dark_lump(
    fg: np.ndarray, alpha: np.ndarray, rng: np.random.Generator, lump: bool = True
) -> np.ndarray:
    """A dark studio backdrop with a darker blob (a coat on a hook, a shadow) touching the hair top.

    Without ``lump``, the same backdrop alone: the control a test compares with.
    """
    h, w = alpha.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    img[:] = (34, 33, 36)
    img += 10 * np.exp(-(((xx - w / 2) / w) ** 2 + ((yy - h / 3) / h) ** 2) * 4)[..., None]
    if not lump:
        return np.clip(img + rng.normal(0, 2, img.shape), 0, 255)
    top, cx, half = _hair_top(alpha)
    hair = np.median(fg[(alpha > 0.95) & (yy < top + h // 15)], axis=0)
    blob = np.zeros((h, w), np.float32)
    ax, ay = int(0.45 * half), int(0.09 * h)
    cv2.ellipse(blob, (cx + half // 4, top - ay // 3), (ax, ay), -15, 0, 360, 1.0, -1)
    blob = cv2.GaussianBlur(blob, (0, 0), 2)[..., None]
    img = blob * (0.9 * hair) + (1 - blob) * img
    return np.clip(img + rng.normal(0, 2, img.shape), 0, 255)


def _white_collar(fg: np.ndarray, alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An off-white wall, a touch darker than a white shirt, with a soft shadow."""
    h, w = alpha.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    img[:] = (232, 231, 227)
    img -= 14 * (xx / w)[..., None]
    return np.clip(img + rng.normal(0, 2, img.shape), 0, 255)


def flyaways(
    fg: np.ndarray, alpha: np.ndarray, rng: np.random.Generator, n: int = 60
) -> tuple[np.ndarray, np.ndarray]:
    """Thin strands of hair curling out of the hair's outline (over the top half of the head)."""
    h, w = alpha.shape
    fg, alpha = fg.copy(), alpha.copy()
    top, cx, half = _hair_top(alpha)
    person = (alpha > 0.5).astype(np.uint8)
    edge = person - cv2.erode(person, np.ones((3, 3), np.uint8))
    ys, xs = np.nonzero(edge)
    sel = ys < top + 0.9 * half
    ys, xs = ys[sel], xs[sel]
    hair = np.median(fg[(alpha > 0.95) & (np.arange(h)[:, None] < top + h // 15)], axis=0)
    strands = np.zeros((h, w), np.float32)
    thick = max(1, round(w / 600))
    for _ in range(n):
        i = int(rng.integers(0, len(ys)))
        y, x = ys[i], xs[i]
        out = np.array([x - cx, y - (top + half)], np.float32)
        out /= max(float(np.linalg.norm(out)), 1.0)
        length = float(rng.uniform(0.08, 0.25)) * half
        bend = rng.normal(0, 0.5, 2)
        t = np.linspace(0.0, 1.0, 24)[:, None]
        start = np.array([x, y], np.float32) - out * 0.05 * half
        end = start + out * length
        mid = (start + end) / 2 + bend * length * 0.5
        pts = (1 - t) ** 2 * start + 2 * (1 - t) * t * mid + t**2 * end
        cv2.polylines(strands, [pts.astype(np.int32)], False, 0.85, thick, cv2.LINE_AA)
    strands = np.clip(strands, 0, 1)
    new = np.maximum(alpha, strands)
    add = (new - alpha)[..., None]
    fg = (fg * alpha[..., None] + hair * add) / np.maximum(new, 1e-3)[..., None]
    return fg, new


def miss_jpeg(fg: np.ndarray, alpha: np.ndarray, kind: str, seed: int = 11) -> bytes:
    """One known miss: the sitter cut from a sample portrait over the backdrop made for it.

    ``dark_plain`` is ``dark_lump``'s backdrop without the lump (its control).
    """
    rng = np.random.default_rng(seed)
    if kind == "red_strands":
        fg, alpha = flyaways(fg, alpha, rng)
        bg = _coloured(*alpha.shape, rng).astype(np.float32)
    elif kind in ("dark_lump", "dark_plain"):
        bg = _dark_lump(fg, alpha, rng, lump=kind == "dark_lump")
    elif kind == "white_collar":
        bg = _white_collar(fg, alpha, rng)
    else:
        raise ValueError(kind)
    rgb = composite(fg, alpha, bg, kind)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=92)
    return buf.getvalue()
