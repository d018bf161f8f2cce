"""Datasets: one Dataset type and every source that gives one."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Dataset:
    """Images as uint8 (N, H, W, C) with integer labels, split into train and test."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    source: str  # where the data came from, in words
    # Built-in data may be shared across sessions (training cache); uploads never are.
    shareable: bool = True
    meta: dict = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(int(v) for v in self.x_train.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def load_digits(size: int = 8) -> Dataset:
    """scikit-learn's bundled 8×8 handwritten digits, optionally upscaled (e.g. to 28×28)."""
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    # Values are 0..16; scale to the full uint8 range like any image.
    images = np.round(bunch.images * (255 / 16)).astype(np.uint8)
    if size != 8:
        from PIL import Image

        images = np.stack(
            [
                np.asarray(Image.fromarray(img).resize((size, size), Image.BILINEAR))
                for img in images
            ]
        )
    images = images[..., None]
    labels = bunch.target.astype(np.int64)
    # A fixed, stratified-enough split: every fifth image is test data.
    test = np.arange(len(labels)) % 5 == 0
    return Dataset(
        name="digits" if size == 8 else f"digits{size}",
        x_train=images[~test],
        y_train=labels[~test],
        x_test=images[test],
        y_test=labels[test],
        class_names=[str(d) for d in range(10)],
        source=f"scikit-learn's bundled handwritten digits (1797 images, 8×8, shown at {size}×{size})",
    )
