"""Image bytes in and pictures out: safe decoding, and the forms the pages show.

Datasets keep images as uint8 (N, H, W, C); how a picture becomes a model's
input is `dashboard.data.preprocess`, the one image pipeline.
"""

from __future__ import annotations

import base64
import io
import struct
import warnings

import numpy as np
from PIL import Image

# Formats a browser or phone produces; Image.open tries no other decoder.
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF")

DISPLAY_SIZE = 84  # pixels; small images (8×8 digits) are blown up to about this


def for_display(image: np.ndarray, size: int = DISPLAY_SIZE) -> np.ndarray:
    """One uint8 (H, W, C) image as st.image shows it crisply.

    Grayscale becomes (H, W). Images smaller than `size` are enlarged by a whole
    factor with nearest-neighbour, so 8×8 digits stay sharp pixels instead of
    the browser's blur.
    """
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    factor = max(1, size // max(image.shape[0], image.shape[1]))
    if factor > 1:
        image = np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)
    return image


class ImageError(ValueError):
    """An image a user gave that cannot be used; the message says what to do,
    `reason` says why in a few words (for lists of skipped files)."""

    def __init__(self, message: str, reason: str = "not usable") -> None:
        super().__init__(message)
        self.reason = reason


# --- decoding -----------------------------------------------------------------


def _declared_size(data: bytes) -> tuple[int, int] | None:
    """Width and height a file's header declares, for the formats Pillow refuses at 0 pixels."""
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
            return struct.unpack(">II", data[16:24])
        if data.startswith((b"GIF87a", b"GIF89a")):
            return struct.unpack("<HH", data[6:10])
        if data.startswith(b"BM"):
            width, height = struct.unpack("<ii", data[18:26])
            return abs(width), abs(height)
        if data.startswith(b"\xff\xd8"):
            i = 2
            while i + 9 < len(data):
                if data[i] != 0xFF:
                    return None
                marker = data[i + 1]
                length = struct.unpack(">H", data[i + 2 : i + 4])[0]
                # SOF0..SOF15 carry the frame size; C4, C8 and CC are other tables.
                if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                    height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                    return width, height
                i += 2 + length
    except struct.error:
        return None
    return None


def declared_pixels(data: bytes) -> int | None:
    """The pixels a PNG, GIF, BMP or JPEG header declares, before decoding; None if unknown."""
    size = _declared_size(data)
    return size[0] * size[1] if size else None


def decode_image(
    data: bytes, name: str = "The image", draft: tuple[str, tuple[int, int]] | None = None
) -> Image.Image:
    """Open uploaded bytes as a loaded Pillow image (first frame of an animation).

    `draft` (mode, size) lets JPEG decode straight at a reduced scale, much faster
    for big photos that will be shrunk anyway.

    Raises ImageError with one sentence for an empty file, a non-image, a
    decompression bomb (Pillow's MAX_IMAGE_PIXELS), a truncated file or 0 pixels.

    Long because each way a file can fail has its own sentence.
    """
    if not data:
        raise ImageError(f"{name} is an empty file (0 bytes); choose an image file.", "empty file")
    declared = _declared_size(data)
    if declared is not None and 0 in declared:
        raise ImageError(
            f"{name} has {declared[0]}×{declared[1]} pixels, so there is nothing in it; "
            "choose an image that has content.",
            "0 pixels",
        )
    limit = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 1× and 2× its limit; a bomb is refused either way.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
            image.seek(0)
            if draft is not None:
                image.draft(*draft)
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        size = f"{declared[0]}×{declared[1]} " if declared else ""
        raise ImageError(
            f"{name} is too large ({size}pixels, over Pillow's limit of "
            f"{limit / 1e6:.0f} million, which guards against decompression bombs); "
            "resize it below that and upload it again.",
            f"over {limit / 1e6:g} megapixels",
        ) from None
    except Image.UnidentifiedImageError:
        raise ImageError(
            f"{name} is not an image CNN Lab can read; upload a PNG, JPEG, WebP, BMP or GIF file.",
            "not an image",
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error):
        raise ImageError(
            f"{name} is truncated or damaged and cannot be decoded; save or export it again "
            "and upload the new file.",
            "damaged image",
        ) from None
    if image.width * image.height == 0:
        raise ImageError(
            f"{name} has {image.width}×{image.height} pixels, so there is nothing in it; "
            "choose an image that has content.",
            "0 pixels",
        )
    return image


def data_url(image: np.ndarray | Image.Image, image_format: str = "PNG") -> str:
    """One picture (uint8 array, (H, W), (H, W, 1) or (H, W, 3), or a Pillow image)
    encoded as a data URL. PNG keeps every pixel; JPEG is smaller for photos."""
    if isinstance(image, np.ndarray):
        array = image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image
        image = Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8))
    image_format = image_format.upper()
    if image_format == "JPEG" and image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **({"quality": 90} if image_format == "JPEG" else {}))
    mime = "jpeg" if image_format == "JPEG" else image_format.lower()
    return f"data:image/{mime};base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
