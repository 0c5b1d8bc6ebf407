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
