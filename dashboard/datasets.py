"""Datasets: one Dataset type and every source that gives one."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

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

    def fingerprint(self) -> str:
        """A digest of the pixels, labels and class names: equal data, equal fingerprint."""
        if "fingerprint" not in self.meta:
            digest = hashlib.blake2b(digest_size=16)
            for array in (self.x_train, self.y_train, self.x_test, self.y_test):
                digest.update(str((array.shape, array.dtype.str)).encode())
                digest.update(np.ascontiguousarray(array).data)
            digest.update("\0".join(self.class_names).encode())
            self.meta["fingerprint"] = digest.hexdigest()
        return self.meta["fingerprint"]


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


def load_builtin(name: str) -> Dataset:
    """A dataset by name: 'digits', 'digits28', or '<name>.npz' in $CNNLAB_DATA_DIR."""
    if name == "digits":
        return load_digits(8)
    if name == "digits28":
        return load_digits(28)
    data_dir = os.environ.get("CNNLAB_DATA_DIR")
    if data_dir:
        path = Path(data_dir) / f"{name}.npz"
        if path.is_file():
            with np.load(path) as npz:
                x_train, x_test = npz["x_train"], npz["x_test"]
                if x_train.ndim == 3:
                    x_train, x_test = x_train[..., None], x_test[..., None]
                n = int(max(npz["y_train"].max(), npz["y_test"].max())) + 1
                return Dataset(
                    name, x_train, npz["y_train"].astype(np.int64), x_test,
                    npz["y_test"].astype(np.int64), [str(i) for i in range(n)],
                    f"local file {path}",
                )  # fmt: skip
    raise KeyError(f"No dataset named '{name}'.")
