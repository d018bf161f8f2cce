"""Synthetic shapes: an offline RGB dataset drawn by project code.

Each image holds one circle, square, triangle, star or cross at a random position,
size, rotation and colour, on a random background with pixel noise. Because the
object moves around, a model must find it, not memorise a place, which makes
Grad-CAM maps worth looking at. The same seed gives the same pixels.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

SHAPE_NAMES = ("circle", "square", "triangle", "star", "cross")
# Drawn this many times larger, then shrunk: smooth edges at every image size.
SUPERSAMPLE = 4


def _polygon(shape: str, cx: float, cy: float, r: float, angle: float) -> np.ndarray:
    """Vertices (k, 2) of a shape with outer radius r around (cx, cy), turned by angle."""
    if shape == "square":
        t = angle + np.pi / 4 + np.arange(4) * np.pi / 2
        radii = np.full(4, r)
    elif shape == "triangle":
        t = angle + np.arange(3) * 2 * np.pi / 3
        radii = np.full(3, r)
    elif shape == "star":
        t = angle + np.arange(10) * np.pi / 5
        radii = np.where(np.arange(10) % 2 == 0, r, 0.45 * r)
    elif shape == "cross":
        w = 0.32 * r  # half the width of an arm
        # A plus sign, as 12 corners, then turned.
        xs = np.array([w, w, r, r, w, w, -w, -w, -r, -r, -w, -w])
        ys = np.array([r, w, w, -w, -w, -r, -r, -w, -w, w, w, r])
        c, s = np.cos(angle), np.sin(angle)
        return np.stack([cx + c * xs - s * ys, cy + s * xs + c * ys], axis=1)
    else:
        raise ValueError(f"no polygon for {shape!r}")
    return np.stack([cx + radii * np.cos(t), cy + radii * np.sin(t)], axis=1)


def _colour_pairs(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n background and foreground colours, each pair far enough apart to see the shape."""
    background = rng.integers(0, 256, size=(n, 3))
    foreground = rng.integers(0, 256, size=(n, 3))
    while True:
        close = np.abs(foreground - background).sum(axis=1) < 200
        if not close.any():
            return background, foreground
        foreground[close] = rng.integers(0, 256, size=(int(close.sum()), 3))


def _coverage(shape: str, cx: float, cy: float, r: float, angle: float, size: int):
    """How much of each pixel the shape covers, (size, size) in 0..1, and its corners."""
    big = size * SUPERSAMPLE
    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)
    if shape == "circle":
        corners = np.array([[cx - r, cy - r], [cx + r, cy + r]])
        draw.ellipse(corners.ravel().tolist(), fill=255)
    else:
        corners = _polygon(shape, cx, cy, r, angle)
        draw.polygon([tuple(p) for p in corners.tolist()], fill=255)
    # BOX averages each SUPERSAMPLE × SUPERSAMPLE block: exact area coverage, smooth edges.
    small = mask.resize((size, size), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0, corners / SUPERSAMPLE


def draw_shapes(count: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`count` RGB images (count, size, size, 3) uint8, their labels (count,) int64 (balanced
    over SHAPE_NAMES) and each object's box (count, 4) as x0, y0, x1, y1 pixels."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(count) % len(SHAPE_NAMES)).astype(np.int64)
    big = size * SUPERSAMPLE
    # Outer radius: a third to three quarters of the image across; fully inside the image.
    radii = rng.uniform(0.16, 0.36, size=count) * big
    centres = rng.uniform(0, 1, size=(count, 2)) * (big - 2 * radii[:, None]) + radii[:, None]
    angles = rng.uniform(0, 2 * np.pi, size=count)
    background, foreground = _colour_pairs(rng, count)
    noise_levels = rng.uniform(0, 20, size=count)

    images = np.empty((count, size, size, 3), dtype=np.uint8)
    boxes = np.empty((count, 4), dtype=np.int64)
    batch = 256  # images blended at once: vectorised, yet the float arrays stay small
    for start in range(0, count, batch):
        stop = min(start + batch, count)
        alpha = np.empty((stop - start, size, size, 1), dtype=np.float32)
        for i in range(start, stop):
            cover, corners = _coverage(
                SHAPE_NAMES[labels[i]], *centres[i], radii[i], angles[i], size
            )
            alpha[i - start, ..., 0] = cover
            boxes[i, :2] = np.floor(corners.min(axis=0))
            boxes[i, 2:] = np.ceil(corners.max(axis=0))
        bg = background[start:stop, None, None, :].astype(np.float32)
        fg = foreground[start:stop, None, None, :].astype(np.float32)
        noise = rng.standard_normal(size=(*alpha.shape[:3], 3), dtype=np.float32)
        noise *= noise_levels[start:stop, None, None, None].astype(np.float32)
        pixels = bg + alpha * (fg - bg) + noise
        images[start:stop] = np.clip(np.round(pixels), 0, 255).astype(np.uint8)
    np.clip(boxes, 0, size, out=boxes)
    return images, labels, boxes
