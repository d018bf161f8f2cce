"""What a learner can pick without uploading: the built-in datasets and the Keras
downloads, where `load_builtin(name)` finds them, and the cache they share.

Where `load_builtin(name)` looks, first hit wins:
1. `$CNNLAB_DATA_DIR/<name>.npz`; for `cifar10` also `cifar10_subset.npz`;
2. the CNN Lab download cache, `<cache>/<name>.npz` (`downloads.cache_dir()`);
3. a Keras download (only `mnist`, `fashion_mnist`, `cifar10`), kept in that cache.
No TensorFlow is imported unless step 3 runs.
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dashboard.data import limits
from dashboard.data.budget import BUDGET
from dashboard.data.byte_cache import ByteLRU
from dashboard.data.datasets import (
    DIGIT_NAMES,
    Dataset,
    dataset_bytes,
    dataset_from_arrays,
    hold_dataset,
    stratified_split,
)
from dashboard.data.limits import DataError
from dashboard.data.npz import array_header, read_npz

# Other file names that stand for a dataset in $CNNLAB_DATA_DIR, tried in order.
LOCAL_ALIASES: dict[str, tuple[str, ...]] = {"cifar10": ("cifar10", "cifar10_subset")}


@dataclass(frozen=True)
class DatasetChoice:
    """One entry of the dataset selectbox."""

    key: str  # what load_builtin() takes
    title: str
    blurb: str
    offline: bool  # never needs the network
    download_size: str = ""


CHOICES: tuple[DatasetChoice, ...] = (
    DatasetChoice("digits", "Digits 8×8", "scikit-learn's 1797 handwritten digits, tiny and fast", True),
    DatasetChoice("digits28", "Digits 28×28", "the same digits upscaled to MNIST's size", True),
    DatasetChoice("shapes", "Shapes", "circles, squares, triangles, stars and crosses anywhere in a colour image; you pick size, count and seed", True),
    DatasetChoice("mnist", "MNIST", "70,000 handwritten digits, 28×28 grayscale", False, "11 MB"),
    DatasetChoice("fashion_mnist", "Fashion-MNIST", "70,000 clothing photos in 10 classes, 28×28 grayscale", False, "30 MB"),
    DatasetChoice("cifar10", "CIFAR-10", "60,000 colour photos in 10 classes, 32×32 RGB", False, "163 MB"),
)  # fmt: skip
DEFAULT_DATASET = "digits28"


def dataset_choices() -> list[DatasetChoice]:
    """The built-in and downloadable datasets, in the order a selectbox shows them."""
    return list(CHOICES)


def get_choice(key: str) -> DatasetChoice | None:
    return next((c for c in CHOICES if c.key == key), None)


def choice_label(key: str) -> str:
    """Selectbox text: the title and whether loading it needs the network."""
    choice = get_choice(key)
    if choice is None:
        return key
    if choice.offline:
        return f"{choice.title} (built in)"
    if local_file(key) is not None:
        return f"{choice.title} (on disk)"
    return f"{choice.title} (download, {choice.download_size})"


def local_image_count(path: Path) -> int | None:
    """Images in a local .npz (x_train plus x_test), read from the array headers only;
    None if the file cannot tell."""
    try:
        with zipfile.ZipFile(path) as archive:
            count = 0
            for name in ("x_train.npy", "x_test.npy"):
                with archive.open(name) as member:
                    count += int(array_header(member)[0][0])
            return count
    except (OSError, KeyError, ValueError, IndexError, SyntaxError, zipfile.BadZipFile):
        return None


def choice_blurb(key: str) -> str:
    """What a choice holds, in words: for a local file its own image count (the CIFAR-10
    subset has 5,000 images, not the download's 60,000)."""
    choice = get_choice(key)
    if choice is None:
        return ""
    path = None if choice.offline else local_file(key)
    count = local_image_count(path) if path is not None else None
    if count is None:
        return choice.blurb
    return re.sub(r"^[\d,]+ ", f"{count:,} ", choice.blurb) + f" (the file {path.name} here)"


def needs_download(key: str) -> bool:
    """True if loading `key` would go to the network (no local file or cached copy)."""
    choice = get_choice(key)
    return choice is not None and not choice.offline and local_file(key) is None


_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def data_dir() -> Path | None:
    """The folder named by $CNNLAB_DATA_DIR, if it is set."""
    value = os.environ.get("CNNLAB_DATA_DIR")
    return Path(value).expanduser() if value else None


def local_file(name: str) -> Path | None:
    """The file load_builtin(name) would read instead of downloading, if any."""
    from dashboard.data.downloads import cached_path

    if not _SAFE_NAME.fullmatch(name):  # a name, never a path into another folder
        return None
    folder = data_dir()
    if folder is not None:
        for stem in LOCAL_ALIASES.get(name, (name,)):
            path = folder / f"{stem}.npz"
            if path.is_file():
                return path
    cached = cached_path(name)
    return cached if cached.is_file() else None


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
    return Dataset.from_split(
        images,
        labels,
        test,
        name="digits" if size == 8 else f"digits{size}",
        class_names=list(DIGIT_NAMES),
        source=f"scikit-learn's bundled handwritten digits (1797 images, 8×8, shown at {size}×{size})",
    )


SHAPES_DEFAULTS = {"size": 32, "count": 2000, "seed": 0}


def load_shapes(size: int = 32, count: int = 2000, seed: int = 0) -> Dataset:
    """Synthetic RGB shapes at random places (see dashboard/data/shapes.py); 20 % test, per class."""
    from dashboard.data.shapes import SHAPE_NAMES, draw_shapes

    if size not in limits.SHAPES_SIZES:
        raise DataError(
            f"Shapes come in sizes {', '.join(map(str, limits.SHAPES_SIZES))}; pick one."
        )
    if not limits.SHAPES_MIN_COUNT <= count <= limits.SHAPES_MAX_COUNT:
        raise DataError(
            f"Pick between {limits.SHAPES_MIN_COUNT} and {limits.SHAPES_MAX_COUNT:,} shapes."
        )
    if count * size * size * 3 > limits.MAX_DATASET_BYTES:
        most = limits.MAX_DATASET_BYTES // (size * size * 3)
        raise DataError(
            f"{count:,} shapes of {size}×{size} would take {limits.human_bytes(count * size * size * 3)}; "
            f"pick at most {most:,} at this size, or a smaller size."
        )
    # The images, their train/test copy, and a batch of float32 blending arrays.
    peak = 2 * count * size * size * 3 + 256 * size * size * 16
    with BUDGET.reserve(peak, "Drawing the shapes", "pick fewer shapes or a smaller size"):
        images, labels, boxes = draw_shapes(count, size, seed)
        test = stratified_split(labels, 0.2, seed)
        return Dataset.from_split(
            images,
            labels,
            test,
            name=f"shapes{size}",
            class_names=list(SHAPE_NAMES),
            source=f"shapes drawn by CNN Lab: {count:,} images of {size}×{size} RGB, seed {seed}",
            # Where each object is (x0, y0, x1, y1), to check that Grad-CAM looks at it.
            meta={"boxes_train": boxes[~test], "boxes_test": boxes[test]},
        )


def _load_local_or_download(name: str) -> Dataset:
    from dashboard.data import downloads

    path = local_file(name)
    if path is not None:
        where = (
            "the CNN Lab download cache" if path == downloads.cached_path(name) else "a local file"
        )
        return read_npz(path, name, f"{where}: {path}", shareable=True)
    if name not in downloads.KERAS_SOURCES:
        raise KeyError(f"No dataset named '{name}'.")
    title = get_choice(name).title if get_choice(name) else name
    arrays = downloads.download(name, title)
    dataset = dataset_from_arrays(name, arrays, f"{title}, downloaded by Keras")
    downloads.save_to_cache(name, {**arrays, "class_names": np.array(dataset.class_names)})
    return dataset


# Built-in datasets shared by every session, bounded by the bytes they hold
# (CNNLAB_DATASET_CACHE_MB): MNIST is 55 MB, CIFAR-10 184 MB, a large shapes set 500 MB.
_DATASETS: ByteLRU[Dataset] = ByteLRU(
    int(os.environ.get("CNNLAB_DATASET_CACHE_MB", "512")) * limits.MB, dataset_bytes
)


def _load_cached(name: str, options: tuple, data_folder: str, cache_folder: str) -> Dataset:
    # data_folder and cache_folder are part of the key only: a changed environment is a new entry.
    key = (name, options, data_folder, cache_folder)
    dataset = _DATASETS.get(key)
    if dataset is None:
        dataset = _load_uncached(name, dict(options))
        _DATASETS.put(key, dataset)
    return dataset


def _load_uncached(name: str, opts: dict) -> Dataset:
    if name == "digits":
        dataset = load_digits(8)
    elif name == "digits28":
        dataset = load_digits(28)
    elif name == "shapes":
        dataset = load_shapes(**opts)
    else:
        dataset = _load_local_or_download(name)
    dataset.meta.update(choice=name, options=opts)
    # Shared by every session: make accidental in-place edits fail loudly.
    for array in (dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test):
        array.flags.writeable = False
    return hold_dataset(dataset, f"Keeping {name}", "pick a smaller dataset or fewer shapes")


def load_builtin(name: str, **options: Any) -> Dataset:
    """A dataset by name, cached for the whole process (the same for every session).

    Names: 'digits', 'digits28', 'shapes' (options size, count, seed), 'mnist',
    'fashion_mnist', 'cifar10', or any '<name>' with '<name>.npz' in $CNNLAB_DATA_DIR.
    See the module docstring for the lookup order. Raises DataError (DownloadError when
    the network is missing) with a sentence for the user, KeyError for unknown names.
    """
    from dashboard.data.downloads import cache_dir

    if name == "shapes":
        options = {**SHAPES_DEFAULTS, **options}  # one cache entry however they are spelled
    elif options:
        raise TypeError(f"'{name}' takes no options (got {sorted(options)}).")
    return _load_cached(
        name, tuple(sorted(options.items())), str(data_dir() or ""), str(cache_dir())
    )
