"""The Dataset type every source gives, and the checks every source shares.

Sources: built-ins and downloads (`builtins.py`), Keras-layout `.npz` files
(`npz.py`), and uploaded zips of class folders (`uploads.py`). A dataset is uint8
images (N, H, W, C) with integer labels, split into train and test, and how a new
image is prepared to look like its images (`preprocess.Preprocessing`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dashboard.data import limits
from dashboard.data.budget import BUDGET
from dashboard.data.limits import DataError
from dashboard.data.preprocess import Preprocessing

__all__ = ["DataError", "Dataset", "dataset_from_arrays", "hold_dataset"]


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
    # How a new image must be prepared to look like these (kept with runs, see preprocess).
    preprocessing: Preprocessing = field(default_factory=Preprocessing)

    @classmethod
    def from_split(cls, x: np.ndarray, y: np.ndarray, test: np.ndarray, **fields) -> Dataset:
        """A dataset whose test images are those where the boolean mask `test` is set."""
        return cls(x_train=x[~test], y_train=y[~test], x_test=x[test], y_test=y[test], **fields)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(int(v) for v in self.x_train.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def class_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Images per class in (train, test), in class order."""
        n = self.num_classes
        return np.bincount(self.y_train, minlength=n), np.bincount(self.y_test, minlength=n)

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


# Class names of well-known datasets.
DIGIT_NAMES = [str(d) for d in range(10)]
FASHION_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                 "Sneaker", "Bag", "Ankle boot"]  # fmt: skip
CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                 "ship", "truck"]  # fmt: skip
# Class names of well-known files that carry none (Keras' own .npz files have no names).
KNOWN_CLASS_NAMES: dict[str, list[str]] = {
    "mnist": DIGIT_NAMES,
    "fashion_mnist": FASHION_NAMES,
    "cifar10": CIFAR10_NAMES,
    "cifar10_subset": CIFAR10_NAMES,
}


def check_class_counts(counts: dict[str, int], what: str) -> None:
    """Refuse data with fewer than MIN_CLASSES classes or a class below MIN_IMAGES_PER_CLASS."""
    present = {name: n for name, n in counts.items() if n > 0}
    if len(present) < limits.MIN_CLASSES:
        found = ", ".join(f"'{n}'" for n in present) or "none"
        raise DataError(
            f"{what} has {len(present)} {'class' if len(present) == 1 else 'classes'} with "
            f"images ({found}); a classifier needs at "
            f"least {limits.MIN_CLASSES}, so put each class's images in its own folder."
        )
    small = [name for name, n in present.items() if n < limits.MIN_IMAGES_PER_CLASS]
    if small:
        raise DataError(
            f"Class '{small[0]}' in {what} has only {present[small[0]]} image; every class "
            f"needs at least {limits.MIN_IMAGES_PER_CLASS} (one to train on, one to test on)."
        )


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
    """A boolean test mask: about `test_fraction` of each class, at least one image per
    class on each side (classes need >= 2 images), chosen reproducibly from `seed`."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        n_test = min(max(1, round(len(idx) * test_fraction)), len(idx) - 1)
        test[rng.choice(idx, size=n_test, replace=False)] = True
    return test


def _as_images(x: Any, key: str) -> np.ndarray:
    """(N, H, W) or (N, H, W, C) numbers in 0..255 (or floats in 0..1) -> uint8 (N, H, W, C)."""
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise DataError(
            f"'{key}' has shape {x.shape}; it must hold images as (N, height, width) or "
            "(N, height, width, 1 or 3 channels)."
        )
    if x.dtype == np.uint8:
        return x
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool) or x.size == 0:
        raise DataError(f"'{key}' holds {x.dtype} values; save the images as uint8 pixels.")
    values = x.astype(np.float64)
    if not np.isfinite(values).all():
        raise DataError(f"'{key}' contains NaN or infinite values; save finite pixel values.")
    if np.issubdtype(x.dtype, np.floating) and values.max() <= 1.0:
        values = values * 255.0  # floats scaled to 0..1, as after x / 255
    if values.min() < 0 or values.max() > 255:
        raise DataError(f"'{key}' has values outside 0..255; save the images as uint8 pixels.")
    return np.round(values).astype(np.uint8)


def _as_labels(y: Any, key: str, n_images: int, x_key: str) -> np.ndarray:
    """(N,) or Keras' (N, 1) integer labels -> int64 (N,)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.number):
        raise DataError(
            f"'{key}' has shape {y.shape} ({y.dtype}); it must be one integer label per image."
        )
    if len(y) != n_images:
        raise DataError(
            f"'{x_key}' has {n_images} images but '{key}' has {len(y)} labels; each image "
            "needs exactly one label."
        )
    if len(y) and (y.min() < 0 or not np.array_equal(y, np.round(y))):
        raise DataError(f"'{key}' must hold whole numbers from 0 up (class indices).")
    return y.astype(np.int64)


def dataset_from_arrays(
    name: str,
    arrays: dict[str, Any],
    source: str,
    *,
    class_names: list[str] | None = None,
    shareable: bool = True,
) -> Dataset:
    """Check Keras-layout arrays (x_train, y_train, x_test, y_test) and make a Dataset.

    Class names come from `class_names`, else an array of that name in `arrays`, else the
    known names for `name` (mnist, cifar10, ...), else '0', '1', ....

    Long because it checks each array in turn, each with its own sentence.
    """
    missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in arrays]
    if missing:
        raise DataError(
            f"'{name}' lacks {', '.join(repr(k) for k in missing)}; a dataset file needs "
            "x_train, y_train, x_test and y_test (and optionally class_names), as in Keras' mnist.npz."
        )
    x_train, x_test = (
        _as_images(arrays["x_train"], "x_train"),
        _as_images(arrays["x_test"], "x_test"),
    )
    y_train = _as_labels(arrays["y_train"], "y_train", len(x_train), "x_train")
    y_test = _as_labels(arrays["y_test"], "y_test", len(x_test), "x_test")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError(
            f"Train images are {x_train.shape[1:]} but test images are {x_test.shape[1:]}; "
            "both must have the same height, width and channels."
        )
    if len(x_train) == 0 or len(x_test) == 0:
        raise DataError(f"'{name}' needs at least one train image and one test image.")
    if class_names is None and "class_names" in arrays:
        class_names = [
            v.decode() if isinstance(v, bytes) else str(v)
            for v in np.asarray(arrays["class_names"]).ravel().tolist()
        ]
    n_labels = int(max(y_train.max(), y_test.max())) + 1
    if n_labels > limits.MAX_CLASS_NAMES or len(class_names or ()) > limits.MAX_CLASS_NAMES:
        raise DataError(
            f"'{name}' has {max(n_labels, len(class_names or ())):,} classes; CNN Lab takes at "
            f"most {limits.MAX_CLASS_NAMES:,}, so number the classes from 0 and keep one name each."
        )
    if class_names is None:
        known = KNOWN_CLASS_NAMES.get(name)
        class_names = (
            known if known and len(known) >= n_labels else [str(i) for i in range(n_labels)]
        )
    if len(class_names) < n_labels:
        raise DataError(
            f"Labels go up to {n_labels - 1} but there are only {len(class_names)} class names; "
            "give one name per class."
        )
    counts = np.bincount(y_train, minlength=len(class_names)) + np.bincount(
        y_test, minlength=len(class_names)
    )
    check_class_counts(dict(zip(class_names, counts.tolist(), strict=True)), f"'{name}'")
    return Dataset(name, x_train, y_train, x_test, y_test, list(class_names), source, shareable)


def dataset_bytes(dataset: Dataset) -> int:
    """The bytes of a dataset's four arrays."""
    return sum(a.nbytes for a in (dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test))


def hold_dataset(dataset: Dataset, what: str, fix: str) -> Dataset:
    """Book a dataset's arrays in the server's memory budget for as long as it is kept
    (BudgetError, a DataError, when they do not fit)."""
    BUDGET.hold_for(dataset, dataset_bytes(dataset), what, fix)
    return dataset
