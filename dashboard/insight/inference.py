"""Classify's images: uploads, photos and drawings prepared for a model, and the
results table. Preparing is the one image pipeline (`dashboard.data.preprocess`)
with a model's own `Preprocessing`, so a photo becomes the same array here as it
did when the model's training images were decoded.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from dashboard.data import limits
from dashboard.data.images import ImageError, data_url, declared_pixels, decode_image
from dashboard.data.preprocess import Preprocessing, draft_for, flatten, model_view, upright

if TYPE_CHECKING:
    import pandas as pd

IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "webp", "bmp", "gif")
# The longest side of the user's image that Classify keeps to show beside the model's view.
ORIGINAL_SHOWN_SIDE = 512


@dataclass
class Prepared:
    """One image ready for the model, with what a user needs to see about it."""

    name: str
    original: Image.Image  # upright, alpha flattened: what the user gave, for display
    array: np.ndarray  # uint8 (H, W, C): exactly what the model sees, before scaling
    inverted: bool


def _shown(image: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """The user's image as the page shows it: upright, transparency flattened, at most
    ORIGINAL_SHOWN_SIDE across (a 5000×5000 photo would hold 75 MB per image)."""
    shown = flatten(upright(image), background)
    shown.thumbnail((ORIGINAL_SHOWN_SIDE, ORIGINAL_SHOWN_SIDE), Image.Resampling.BILINEAR)
    return shown


def prepare(
    image: Image.Image,
    input_shape: tuple[int, int, int],
    preprocessing: Preprocessing | None = None,
    *,
    name: str = "image",
    shown: Image.Image | None = None,
) -> Prepared:
    """A decoded image as exactly what a model with `input_shape` sees (uint8), with the
    picture to show beside it (`shown`, or the image itself)."""
    preprocessing = preprocessing or Preprocessing()
    array, inverted = model_view(image, input_shape, preprocessing)
    original = _shown(shown if shown is not None else image, preprocessing.background)
    return Prepared(name=name, original=original, array=array, inverted=inverted)


def prepare_array(
    array: np.ndarray,
    input_shape: tuple[int, int, int],
    preprocessing: Preprocessing | None = None,
    *,
    name: str = "image",
) -> Prepared:
    """`prepare` for an image given as an array (e.g. the drawing canvas' RGBA pixels)."""
    if array.size == 0:
        raise ImageError(f"{name} has 0 pixels, so there is nothing to classify.")
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    image = Image.fromarray(array[..., 0] if array.ndim == 3 and array.shape[2] == 1 else array)
    return prepare(image, input_shape, preprocessing, name=name)


def prepare_file(
    data: bytes,
    input_shape: tuple[int, int, int],
    preprocessing: Preprocessing | None = None,
    name: str = "The image",
) -> Prepared:
    """Image bytes -> Prepared. The model's view is decoded with the pipeline's JPEG
    draft (as uploads are), so the same JPEG gives the same array; the picture shown
    is decoded again at display size only when the draft made it smaller."""
    image = decode_image(data, name, draft=draft_for(input_shape))
    shown = None
    if image.format == "JPEG":  # the only format Pillow drafts
        side = max(input_shape[0], input_shape[1], ORIGINAL_SHOWN_SIDE)
        shown = decode_image(data, name, draft=("RGB", (side, side)))
    return prepare(image, input_shape, preprocessing, name=name, shown=shown)


def prepare_many(
    files: list[tuple[str, bytes]],
    input_shape: tuple[int, int, int],
    preprocessing: Preprocessing | None = None,
) -> tuple[list[Prepared], list[str]]:
    """Decode and prepare each (name, bytes); a bad file gives its message and the
    others go on. Returns (prepared images, error messages) in upload order."""
    from dashboard.data.budget import BUDGET, BudgetError

    prepared, errors = [], []
    most = limits.MAX_CLASSIFY_IMAGES
    if len(files) > most:
        errors.append(
            f"You gave {len(files)} images; CNN Lab classifies at most {most} at once, so the "
            f"first {most} are shown; remove some to see the others."
        )
        files = files[:most]
    for name, data in files:
        try:
            # The decoded image, its RGB and grayscale copies: ~4 bytes a declared pixel.
            pixels = declared_pixels(data) or limits.MAX_IMAGE_PIXELS
            with BUDGET.reserve(4 * pixels, f"Decoding {name}", "upload a smaller image"):
                prepared.append(prepare_file(data, input_shape, preprocessing, name))
        except (ImageError, BudgetError) as exc:
            errors.append(str(exc))
    return prepared, errors


def prepare_drawing(
    pixels: np.ndarray | None,
    input_shape: tuple[int, int, int],
    preprocessing: Preprocessing | None = None,
) -> Prepared | None:
    """The drawing canvas' RGBA pixels as a Prepared "drawing"; None while nothing is drawn."""
    if pixels is None or is_blank(pixels):
        return None
    # The canvas is white on black: transparent pixels are its black ground.
    black = dataclasses.replace(preprocessing or Preprocessing(), background=(0, 0, 0))
    return prepare_array(pixels, input_shape, black, name="drawing")


def enlarge(array: np.ndarray, min_side: int = 196) -> np.ndarray:
    """Blow a small image up by whole pixels (nearest neighbour), so 28×28 is visible."""
    factor = max(1, math.ceil(min_side / min(array.shape[:2])))
    big = np.repeat(np.repeat(array, factor, axis=0), factor, axis=1)
    return big[..., 0] if big.shape[-1] == 1 else big


def thumbnail_url(image: Image.Image, size: int = 64) -> str:
    """A small PNG as a data URL, for a table's image column."""
    thumb = image.copy()
    thumb.thumbnail((size, size))
    return data_url(thumb)


def is_blank(array: np.ndarray) -> bool:
    """True when every pixel has the same colour (e.g. a canvas nobody drew on)."""
    flat = array[..., :3] if array.ndim == 3 and array.shape[2] >= 3 else array
    if array.ndim == 3 and array.shape[2] == 4:
        # Fully transparent pixels count as background whatever their colour.
        flat = np.where(array[..., 3:4] > 0, flat, 0)
    return bool(flat.min() == flat.max())


def results_table(
    prepared: list[Prepared], probs: np.ndarray, class_names: list[str], thumbnails: bool = True
) -> pd.DataFrame:
    """One row per image: thumbnail (data URL), file, prediction and confidence."""
    import pandas as pd

    best = probs.argmax(axis=1) if len(probs) else np.zeros(0, dtype=int)
    table = pd.DataFrame(
        {
            "file": [item.name for item in prepared],
            "prediction": [class_names[i] for i in best],
            "confidence": [float(probs[row, i]) for row, i in enumerate(best)],
        }
    )
    if thumbnails:
        table.insert(0, "image", [thumbnail_url(item.original) for item in prepared])
    return table


def predictions_csv(table: pd.DataFrame) -> str:
    """The results table as CSV text for download, without the thumbnails."""
    return table.drop(columns="image").to_csv(index=False)


def model_view_caption(item: Prepared, input_shape: tuple[int, int, int]) -> str:
    """What a model with `input_shape` sees of `item`, e.g. 'What the model sees: 28×28, grayscale'."""
    h, w, c = input_shape
    caption = f"What the model sees: {h}×{w}, {'grayscale' if c == 1 else 'RGB'}"
    if item.inverted:
        caption += ", inverted to white on black"
    return caption


def class_names_from_text(typed: str, class_names: list[str]) -> tuple[list[str], str | None]:
    """The class names a user typed (comma-separated), or `class_names` with a warning
    when the count does not match the model's classes; nothing typed keeps them."""
    names = [name.strip() for name in typed.split(",") if name.strip()]
    if names and len(names) != len(class_names):
        return class_names, (
            f"You gave {len(names)} names but the model has {len(class_names)} classes; "
            "using the class numbers instead."
        )
    return (names or class_names), None


def hex_color(rgb: tuple[int, int, int]) -> str:
    """(255, 255, 255) -> '#FFFFFF', as a colour picker shows it."""
    return "#{:02X}{:02X}{:02X}".format(*rgb)


def rgb_from_hex(color: str) -> tuple[int, int, int]:
    """'#FFFFFF' -> (255, 255, 255)."""
    return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))
