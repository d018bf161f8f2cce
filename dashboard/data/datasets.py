"""Datasets: one Dataset type and the built-in sources that give one.

Sources, all giving a `Dataset`:
- offline built-ins: `digits` (scikit-learn, 8×8), `digits28` (the same, upscaled),
  `shapes` (drawn by `dashboard/data/shapes.py`);
- Keras downloads: `mnist`, `fashion_mnist`, `cifar10` (see `dashboard/data/downloads.py`);
- a local `.npz` in Keras' `mnist.npz` layout, from `$CNNLAB_DATA_DIR` or an upload;
- an uploaded zip of class folders (see `dashboard/data/uploads.py`).

Where `load_builtin(name)` looks, first hit wins:
1. `$CNNLAB_DATA_DIR/<name>.npz`; for `cifar10` also `cifar10_subset.npz`;
2. the CNN Lab download cache, `<cache>/<name>.npz` (`downloads.cache_dir()`);
3. a Keras download (only `mnist`, `fashion_mnist`, `cifar10`), kept in that cache.
No TensorFlow is imported unless step 3 runs.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dashboard.data import limits
from dashboard.data.budget import BUDGET
from dashboard.data.byte_cache import ByteLRU
from dashboard.data.limits import DataError, human_bytes
from dashboard.data.preprocess import Preprocessing

__all__ = ["DataError", "Dataset", "DatasetChoice", "dataset_choices", "load_builtin"]


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


# --- what a user can pick ---------------------------------------------------------------

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


def needs_download(key: str) -> bool:
    """True if loading `key` would go to the network (no local file or cached copy)."""
    choice = get_choice(key)
    return choice is not None and not choice.offline and local_file(key) is None


# --- checks shared by every source ----------------------------------------------------------


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


# --- .npz files ------------------------------------------------------------------------------


def check_npz_headers(archive: zipfile.ZipFile, filename: str) -> int:
    """Refuse an .npz by its arrays' headers, before any array is allocated: NumPy makes
    an array of the declared shape first and fills it after, so a header that lies
    about its shape, or arrays too large together, never reach np.load."""
    total = 0
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            continue
        with archive.open(info) as member:
            try:
                version = np.lib.format.read_magic(member)
                read_header = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                shape, _, dtype = read_header(member)
            except (ValueError, OSError, EOFError, SyntaxError):
                raise DataError(
                    f"'{filename}' has a damaged array '{info.filename}'; save the arrays "
                    "again with numpy.savez and upload the new file."
                ) from None
        declared = math.prod(shape) * dtype.itemsize
        if declared > info.file_size:
            raise DataError(
                f"'{filename}' is damaged: '{info.filename}' declares {human_bytes(declared)} "
                f"but holds {human_bytes(info.file_size)}; save it again and upload the new file."
            )
        if info.filename == "class_names.npy" and math.prod(shape) > limits.MAX_CLASS_NAMES:
            raise DataError(
                f"'{filename}' names {math.prod(shape):,} classes; CNN Lab takes at most "
                f"{limits.MAX_CLASS_NAMES:,}, so keep one name per class."
            )
        total += declared
    if total > limits.MAX_DATASET_BYTES:
        raise DataError(
            f"'{filename}' holds {human_bytes(total)} of arrays; a dataset may take at most "
            f"{human_bytes(limits.MAX_DATASET_BYTES)}, so keep fewer or smaller images."
        )
    return total


def read_npz(file: Path | io.BytesIO, name: str, source: str, *, shareable: bool) -> Dataset:
    """A Dataset from an .npz in Keras layout; refuses pickles and oversized members."""
    try:
        with zipfile.ZipFile(file) as archive:
            size = file.getbuffer().nbytes if isinstance(file, io.BytesIO) else file.stat().st_size
            limits.check_archive(
                archive.infolist(),
                f"{name}.npz",
                limits.MAX_NPZ_COMPRESSION_RATIO,
                archive_bytes=size,
                max_member_bytes=limits.MAX_DATASET_BYTES,
            )
            declared = check_npz_headers(archive, f"{name}.npz")
        if isinstance(file, io.BytesIO):
            file.seek(0)
        # The arrays as loaded, and the checked copies dataset_from_arrays may make.
        with (
            BUDGET.reserve(2 * declared, f"Reading '{name}.npz'", NPZ_FIX),
            np.load(file, allow_pickle=False) as npz,
        ):
            arrays = {key: npz[key] for key in npz.files}
            return dataset_from_arrays(name, arrays, source, shareable=shareable)
    except zipfile.BadZipFile:
        raise DataError(
            f"'{name}.npz' is not an .npz file; save the arrays with numpy.savez or savez_compressed."
        ) from None
    except ValueError as exc:
        if isinstance(exc, DataError):
            raise
        # np.load raises ValueError for object arrays (which need pickle) and broken members.
        raise DataError(
            f"'{name}.npz' could not be read ({exc}); save plain numeric arrays and a string "
            "array of class names with numpy.savez."
        ) from None
    except (OSError, EOFError) as exc:
        raise DataError(f"'{name}.npz' is damaged ({exc}); save it again and retry.") from None


NPZ_FIX = "save fewer or smaller images in it"


def load_npz_bytes(data: bytes, filename: str) -> Dataset:
    """An uploaded .npz (Keras layout). It stays in the uploader's session: shareable=False."""
    limits.check_upload_size(len(data), filename)
    name = Path(filename).stem or "upload"
    dataset = read_npz(io.BytesIO(data), name, f"your upload '{filename}'", shareable=False)
    dataset.meta.update(upload=filename)
    return hold_dataset(dataset, f"Keeping '{filename}'", NPZ_FIX)


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


# --- built-ins -------------------------------------------------------------------------------


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


def dataset_bytes(dataset: Dataset) -> int:
    """The bytes of a dataset's four arrays."""
    return sum(a.nbytes for a in (dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test))


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


def hold_dataset(dataset: Dataset, what: str, fix: str) -> Dataset:
    """Book a dataset's arrays in the server's memory budget for as long as it is kept
    (BudgetError, a DataError, when they do not fit)."""
    BUDGET.hold_for(dataset, dataset_bytes(dataset), what, fix)
    return dataset


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
