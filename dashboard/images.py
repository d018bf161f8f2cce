"""Image arrays between the forms the app keeps, feeds and shows.

Datasets keep images as uint8 (N, H, W, C). Models built by keras_model.py
have no rescaling layer, so every caller of `predict`/`fit` scales with
`to_model_input` first: one convention, one function.
"""

from __future__ import annotations

import numpy as np

DISPLAY_SIZE = 84  # pixels; small images (8×8 digits) are blown up to about this


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 images (any shape) -> float32 in [0, 1], the scale the models train on."""
    if images.dtype != np.uint8:
        # Scaling anything else by 1/255 would silently double-scale floats.
        raise TypeError(f"to_model_input expects uint8 images, got {images.dtype}.")
    return images.astype(np.float32) / np.float32(255.0)


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
