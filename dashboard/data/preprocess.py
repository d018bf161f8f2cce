"""The one image pipeline: from image bytes to the array a model sees, and to its input.

Uploads (zips of class folders), Classify, the Convolution explorer, training and
the CLI all go through here, so a photo becomes the same pixels on every path:

    bytes ─decode─▶ Pillow image ─upright, alpha, mode─▶ uint8 (H, W, C)
          ─invert?─▶ ─resize (one filter, one set of fit modes)─▶ ─frame?─▶
          uint8 (h, w, c)  ─to_model_input─▶  float32 in [0, 1]

The steps a dataset's images went through are a `Preprocessing`; it is kept with
the run and saved in the `.keras` download, and Classify applies it by default.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from dashboard.data.images import ImageError, decode_image

# Antialiased bilinear when shrinking: close to Lanczos for the small inputs CNNs take,
# and 3× faster on a 500×375 photo (0.5 ms against 1.4 ms), which counts for a zip of
# thousands of images. One filter everywhere, so no path sees softer pixels.
RESAMPLING = Image.Resampling.BILINEAR

FIT_MODES = {
    "fit": "Fit with padding",
    "crop": "Centre crop",
    "stretch": "Stretch",
}
FIT_HELP = (
    "Fit keeps the whole image and pads it with its border colour; crop fills the "
    "square and cuts the edges; stretch fills it and changes the proportions."
)
INVERT_MODES = {
    "auto": "Automatic (when the background is light)",
    "always": "Always",
    "never": "Never",
}
# Models built here have no rescaling layer: uint8 pixels are divided by this, in
# training (tf.data) and in every prediction, so both see the very same floats.
PIXEL_MAX = 255.0


@dataclass(frozen=True)
class Preprocessing:
    """How images become a model's input, beyond the input shape itself.

    `invert` applies to one-channel inputs only (MNIST digits are white on black);
    `frame` centres a digit as MNIST did; `background` replaces transparency.
    """

    fit: str = "fit"
    invert: str = "auto"
    frame: bool = False
    background: tuple[int, int, int] = (255, 255, 255)

    def __post_init__(self) -> None:
        if self.fit not in FIT_MODES:
            raise ValueError(f"fit must be one of {', '.join(FIT_MODES)}, not {self.fit!r}")
        if self.invert not in INVERT_MODES:
            raise ValueError(
                f"invert must be one of {', '.join(INVERT_MODES)}, not {self.invert!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "background": list(self.background)}

    @classmethod
    def from_dict(cls, data: Any) -> Preprocessing:
        """The preprocessing a saved dict describes; anything unreadable keeps its default,
        so a hand-edited or hostile file can never break Classify."""
        if not isinstance(data, dict):
            return cls()
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                continue
            if key == "background":
                if not (
                    isinstance(value, list | tuple)
                    and len(value) == 3
                    and all(isinstance(v, int) and 0 <= v <= 255 for v in value)
                ):
                    continue
                value = tuple(value)
            elif key == "frame":
                if not isinstance(value, bool):
                    continue
            elif not isinstance(value, str):
                continue
            values[key] = value
        try:
            return cls(**values)
        except ValueError:
            return cls()

    def describe(self) -> str:
        """In words, e.g. 'stretch, no inversion'."""
        words = [FIT_MODES[self.fit].lower()]
        words.append(
            {"auto": "inverted when light", "always": "inverted", "never": "not inverted"}[
                self.invert
            ]
        )
        if self.frame:
            words.append("digit centred like MNIST")
        return ", ".join(words)


# Images decoded from a zip of class folders are used as they are: never inverted.
UPLOAD_DEFAULT = Preprocessing(fit="stretch", invert="never")


# --- steps ------------------------------------------------------------------------


def upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag, as a photo viewer does."""
    return ImageOps.exif_transpose(image) or image


def flatten(image: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """An RGB image: 16-bit and float images scaled to 0..255, transparency over `background`."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = values.max() if values.size else 0.0
        image = Image.fromarray((values * (255.0 / top) if top > 0 else values).astype(np.uint8))
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    if not has_alpha:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    canvas = Image.new("RGBA", rgba.size, (*background, 255))
    return Image.alpha_composite(canvas, rgba).convert("RGB")


def to_channels(image: Image.Image, channels: int) -> np.ndarray:
    """An RGB Pillow image as uint8 (H, W, channels); grayscale is ITU-R 601 luma."""
    if channels not in (1, 3):
        raise ImageError(
            f"This model expects {channels} channels per pixel; CNN Lab can feed it only "
            "1 (grayscale) or 3 (RGB) channels."
        )
    if channels == 1:
        return np.asarray(image.convert("L"), dtype=np.uint8)[..., None]
    return np.asarray(image, dtype=np.uint8)


def border_color(array: np.ndarray) -> np.ndarray:
    """Median colour of the outermost pixels (H, W, C): the image's background."""
    edges = np.concatenate([array[0], array[-1], array[:, 0], array[:, -1]])
    return np.median(edges, axis=0)


def is_light_background(array: np.ndarray) -> bool:
    """True when the image's border is mostly light (dark object on a light ground)."""
    return float(border_color(array).mean()) > 127.5


def resize(array: np.ndarray, size: tuple[int, int], fit: str = "fit") -> np.ndarray:
    """Resize uint8 (H, W, C) to (height, width) by 'fit' (pad), 'crop' (centre) or 'stretch'.

    Fit pads with the image's own border colour, so padding never looks like an object.

    >>> resize(np.zeros((10, 20, 1), np.uint8), (4, 4), "fit").shape
    (4, 4, 1)
    """
    if fit not in FIT_MODES:
        raise ValueError(f"fit must be one of {', '.join(FIT_MODES)}, not {fit!r}")
    out_h, out_w = size
    h, w, c = array.shape
    image = Image.fromarray(array[..., 0] if c == 1 else array)
    if (h, w) == (out_h, out_w):
        result = image
    elif fit == "stretch":
        result = image.resize((out_w, out_h), RESAMPLING)
    elif fit == "crop":
        result = ImageOps.fit(image, (out_w, out_h), RESAMPLING)
    else:
        scale = min(out_w / w, out_h / h)
        new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
        inner = image.resize((new_w, new_h), RESAMPLING)
        fill = tuple(int(v) for v in np.round(border_color(array)))
        result = Image.new(image.mode, (out_w, out_h), fill[0] if c == 1 else fill)
        result.paste(inner, ((out_w - new_w) // 2, (out_h - new_h) // 2))
    out = np.asarray(result, dtype=np.uint8)
    return out[..., None] if c == 1 else out


def frame_digit(array: np.ndarray, box: float = 20 / 28) -> np.ndarray:
    """Frame a white-on-black digit as MNIST does: crop to its strokes, scale them into a
    20×20 box of the 28×28 frame, and centre them by their centre of mass."""
    gray = array[..., 0].astype(np.float32)
    ys, xs = np.nonzero(gray > 0.1 * gray.max()) if gray.max() > 0 else ((), ())
    if len(ys) == 0:
        return array
    crop = gray[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    out_h, out_w = gray.shape
    target = box * min(out_h, out_w)
    scale = target / max(crop.shape)
    new_h, new_w = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    small = np.asarray(
        Image.fromarray(crop.astype(np.uint8)).resize((new_w, new_h), RESAMPLING),
        dtype=np.float32,
    )
    total = small.sum()
    cy = (small.sum(axis=1) @ np.arange(new_h)) / total if total else new_h / 2
    cx = (small.sum(axis=0) @ np.arange(new_w)) / total if total else new_w / 2
    top = int(np.clip(round(out_h / 2 - cy), 0, out_h - new_h))
    left = int(np.clip(round(out_w / 2 - cx), 0, out_w - new_w))
    framed = np.zeros_like(gray)
    framed[top : top + new_h, left : left + new_w] = small
    return np.clip(framed, 0, 255).astype(np.uint8)[..., None]


# --- the whole pipeline -------------------------------------------------------------


def draft_for(input_shape: tuple[int, int, int]) -> tuple[str, tuple[int, int]]:
    """The JPEG draft (mode, size) for a model input: decoding at a reduced DCT scale is
    much faster for big photos, and every path asks for the same one, so the same
    JPEG gives the same pixels wherever it is prepared."""
    height, width, channels = input_shape
    return ("L" if channels == 1 else "RGB", (width, height))


def model_view(
    image: Image.Image, input_shape: tuple[int, int, int], preprocessing: Preprocessing
) -> tuple[np.ndarray, bool]:
    """A decoded image as exactly what a model with `input_shape` sees: uint8 (h, w, c),
    and whether it was inverted to white on black."""
    height, width, channels = input_shape
    pixels = to_channels(flatten(upright(image), preprocessing.background), channels)
    inverted = False
    if channels == 1:
        mode = preprocessing.invert
        inverted = mode == "always" or (mode == "auto" and is_light_background(pixels))
        if inverted:
            pixels = 255 - pixels
    array = resize(pixels, (height, width), preprocessing.fit)
    if preprocessing.frame and channels == 1:
        array = frame_digit(array)
    return array, inverted


def decode_for_model(
    data: bytes,
    input_shape: tuple[int, int, int],
    preprocessing: Preprocessing,
    name: str = "The image",
) -> tuple[np.ndarray, bool, int]:
    """Image bytes -> (what the model sees, inverted, pixels decoded).

    Raises ImageError with one sentence for a file that is not a usable image.
    """
    image = decode_image(data, name, draft=draft_for(input_shape))
    decoded = image.width * image.height
    array, inverted = model_view(image, input_shape, preprocessing)
    return array, inverted, decoded


def to_model_input(images: np.ndarray | list[np.ndarray], divisor: float = PIXEL_MAX) -> np.ndarray:
    """uint8 images (any shape) -> float32 model input: pixels / `divisor` (255, or 1 for a
    model that rescales itself).

    >>> to_model_input(np.array([0, 51, 255], np.uint8)).tolist()
    [0.0, 0.20000000298023224, 1.0]
    """
    array = np.asarray(images)
    if array.dtype != np.uint8:
        # Scaling anything else by 1/255 would silently double-scale floats.
        raise TypeError(f"to_model_input expects uint8 images, got {array.dtype}.")
    return array.astype(np.float32) / np.float32(divisor)
