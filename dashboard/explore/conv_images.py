"""Images for the Convolution page: where they come from, and how results are shown.

Sources give uint8 (H, W, C) arrays; `to_float` turns one into the [0, 1] float
input the convolution uses. `display_image` turns any result into a small uint8
picture, so the browser gets a few kilobytes, not a per-pixel heatmap.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image

from dashboard.data import preprocess
from dashboard.data.images import ImageError, decode_image
from dashboard.model.spec import shape_text as spec_shape_text

# scikit-image's bundled photos that load without a network.
SAMPLES = (
    "astronaut", "camera", "coins", "chelsea", "coffee", "moon", "page", "text",
    "rocket", "clock", "immunohistochemistry",
)  # fmt: skip
PATTERNS = ("vertical edge", "horizontal edge", "diagonal line", "cross", "square", "checkerboard")
MAX_UPLOAD_SIDE = 1024  # larger uploads are shrunk: the page stays fast, the lesson is the same
STEP_MAX_SIDE = 16
DISPLAY_SIDE = 320
# ITU-R BT.601 luma, what PIL's convert("L") uses.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _as_hwc(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype == bool:
        img = img.astype(np.uint8) * 255
    if img.ndim == 2:
        img = img[:, :, None]
    if img.shape[2] == 4:  # drop alpha: convolution here is about the colours
        img = img[:, :, :3]
    return np.ascontiguousarray(img.astype(np.uint8))


@lru_cache(maxsize=len(SAMPLES))
def load_sample(name: str) -> np.ndarray:
    """A scikit-image sample photo as uint8 (H, W, C); shared read-only across sessions."""
    if name not in SAMPLES:
        raise ImageError(f"Unknown sample '{name}'; choose one of: {', '.join(SAMPLES)}.")
    from skimage import data

    img = _as_hwc(getattr(data, name)())
    img.setflags(write=False)
    return img


def pattern(name: str, size: int = 12) -> np.ndarray:
    """A small black-and-white test pattern, uint8 (size, size, 1), for step-by-step work."""
    n = int(size)
    r, c = np.mgrid[0:n, 0:n]
    if name == "vertical edge":
        img = c >= n // 2
    elif name == "horizontal edge":
        img = r >= n // 2
    elif name == "diagonal line":
        img = r == c
    elif name == "cross":
        mid = n // 2
        img = (np.abs(r - mid) <= n // 8) | (np.abs(c - mid) <= n // 8)
    elif name == "square":
        q = n // 4
        img = (r >= q) & (r < n - q) & (c >= q) & (c < n - q)
    elif name == "checkerboard":
        cell = max(n // 4, 1)
        img = ((r // cell) + (c // cell)) % 2 == 0
    else:
        raise ImageError(f"Unknown pattern '{name}'; choose one of: {', '.join(PATTERNS)}.")
    return (img.astype(np.uint8) * 255)[:, :, None]


# Pillow modes of one-channel files (with or without transparency).
GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")


def decode_upload(data: bytes, name: str = "This file") -> np.ndarray:
    """Decode an uploaded image file to uint8 (H, W, C), shrunk to MAX_UPLOAD_SIDE, through
    the one image pipeline: EXIF orientation, transparency over white, 16-bit scaled;
    a grayscale file stays one channel."""
    im = decode_image(data, name)
    gray = im.mode in GRAY_MODES
    im = preprocess.flatten(preprocess.upright(im))
    if max(im.size) > MAX_UPLOAD_SIDE:
        im.thumbnail((MAX_UPLOAD_SIDE, MAX_UPLOAD_SIDE), preprocess.RESAMPLING)
    return preprocess.to_channels(im, 1 if gray else 3)


def dataset_image(x: np.ndarray, index: int) -> np.ndarray:
    """Image `index` of a dataset's (N, H, W, C) uint8 array."""
    return _as_hwc(x[int(np.clip(index, 0, len(x) - 1))])


def to_float(img: np.ndarray, channels: int) -> np.ndarray:
    """uint8 (H, W, C) -> float32 [0, 1] (H, W, channels): grayscale (1) or colour (3)."""
    x = _as_hwc(img).astype(np.float32) / np.float32(preprocess.PIXEL_MAX)
    if channels == 1 and x.shape[2] == 3:
        return np.ascontiguousarray(x @ LUMA)[:, :, None]
    if channels == 3 and x.shape[2] == 1:
        return np.repeat(x, 3, axis=2)
    return x


def shrink(x: np.ndarray, max_side: int) -> np.ndarray:
    """Area-average a float (H, W, C) image so its longer side is at most `max_side`.

    Not the model pipeline's filter on purpose: the step-by-step view shows a
    convolution on few pixels, and each of them must be the plain mean of the
    pixels it stands for, so the arithmetic a learner checks stays exact."""
    h, w = x.shape[:2]
    if max(h, w) <= max_side:
        return x
    scale = max_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    planes = [
        np.asarray(Image.fromarray(x[:, :, c]).resize(size, Image.Resampling.BOX))
        for c in range(x.shape[2])
    ]
    return np.stack(planes, axis=2).astype(np.float32)


# --- display ----------------------------------------------------------------------


def to_colors(values: np.ndarray) -> np.ndarray:
    """Float (H, W, C) -> uint8 picture, each scaled to its own range.

    One channel: gray from 0 (black) to the maximum (white); if there are negative
    values, blue for negative, white for 0 and red for positive instead.
    Three channels: RGB from min(0, lowest) to the highest value.
    """
    v = np.asarray(values, dtype=np.float32)
    if v.ndim == 3 and v.shape[2] == 3:
        lo, hi = min(float(v.min()), 0.0), float(v.max())
        if hi <= lo:
            return np.zeros(v.shape, dtype=np.uint8)
        return ((v - lo) * (255 / (hi - lo)) + 0.5).astype(np.uint8)
    plane = v[:, :, 0] if v.ndim == 3 else v
    if plane.min() < 0:
        t = plane / max(float(np.abs(plane).max()), 1e-12)
        pos, neg = np.clip(t, 0, 1), np.clip(-t, 0, 1)
        rgb = np.stack([1 - neg, 1 - pos - neg, 1 - pos], axis=2)
        return np.round(rgb * 255).astype(np.uint8)
    hi = float(plane.max())
    return (plane * (255 / hi if hi > 0 else 0.0) + 0.5).astype(np.uint8)


def display_image(values: np.ndarray, side: int = DISPLAY_SIDE) -> np.ndarray:
    """A uint8 picture of a result about `side` pixels across, so each map costs the
    browser a few kilobytes: big maps are block-averaged down before colouring (cheap,
    and no aliasing), small ones enlarged with sharp pixels."""
    v = np.asarray(values, dtype=np.float32)
    if v.ndim == 2:
        v = v[:, :, None]
    h, w = v.shape[:2]
    factor = -(-max(h, w) // side)
    if factor > 1:
        hb, wb = h // factor, w // factor
        if hb and wb:
            # Sum of factor² strided views: much faster than a reshape-mean in NumPy.
            acc = np.zeros((hb, wb, v.shape[2]), dtype=np.float32)
            for i in range(factor):
                for j in range(factor):
                    acc += v[i : hb * factor : factor, j : wb * factor : factor]
            v = acc * (1 / factor**2)
    rgb = to_colors(v)
    h, w = rgb.shape[:2]
    if max(h, w) * 2 <= side:
        factor = side // max(h, w)
        rgb = np.asarray(
            Image.fromarray(rgb).resize((w * factor, h * factor), Image.Resampling.NEAREST)
        )
    return rgb


def display_format(values: np.ndarray) -> str:
    """PNG for small maps (sharp, flat pixels compress well), JPEG for photos (fast, small)."""
    return "PNG" if max(values.shape[:2]) * 2 <= DISPLAY_SIDE else "JPEG"


def shape_text(x: np.ndarray) -> str:
    """An array's shape as CNN Lab writes it, e.g. '510×510×3'."""
    return spec_shape_text(x.shape)


def range_text(values: np.ndarray) -> str:
    """The lowest and highest value, as the caption under a picture: 'min -1.5, max 2'."""
    return f"min {values.min():.3g}, max {values.max():.3g}"
