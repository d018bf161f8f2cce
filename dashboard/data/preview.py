"""What the Data page shows of a dataset: sample strips per class and a summary table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dashboard.data.datasets import Dataset

GAP = 2  # white pixels between tiles


@dataclass(frozen=True)
class ClassStrip:
    name: str
    train_count: int
    test_count: int
    image: np.ndarray  # uint8 (H, W) or (H, W, 3): sample tiles side by side

    @property
    def caption(self) -> str:
        """What the page writes under the strip, e.g. '0: 136 train, 42 test'."""
        return f"{self.name}: {self.train_count:,} train, {self.test_count:,} test"


def _upscale(images: np.ndarray, tile_px: int) -> np.ndarray:
    """Nearest-neighbour upscale so 8×8 digits stay crisp instead of blurred by the browser."""
    factor = max(1, round(tile_px / images.shape[1]))
    return images.repeat(factor, axis=1).repeat(factor, axis=2)


def class_strips(
    dataset: Dataset, per_class: int = 8, max_classes: int = 20, tile_px: int = 64, seed: int = 0
) -> list[ClassStrip]:
    """For each of the first `max_classes` classes, `per_class` random train images in a row."""
    rng = np.random.default_rng(seed)
    train_counts, test_counts = dataset.class_counts()
    strips = []
    for label, name in enumerate(dataset.class_names[:max_classes]):
        idx = np.flatnonzero(dataset.y_train == label)
        if len(idx) == 0:  # a class that only has test images
            idx = np.flatnonzero(dataset.y_test == label)
            pool = dataset.x_test
        else:
            pool = dataset.x_train
        pick = np.sort(rng.choice(idx, size=min(per_class, len(idx)), replace=False))
        tiles = _upscale(pool[pick], tile_px)
        n, h, w, c = tiles.shape
        strip = np.full((h, n * w + (n - 1) * GAP, c), 255, dtype=np.uint8)
        for i, tile in enumerate(tiles):
            strip[:, i * (w + GAP) : i * (w + GAP) + w] = tile
        strips.append(
            ClassStrip(
                name,
                int(train_counts[label]),
                int(test_counts[label]),
                strip[..., 0] if c == 1 else strip,
            )
        )
    return strips


def dataset_metrics(dataset: Dataset) -> list[tuple[str, str | int]]:
    """The Data page's summary of a dataset as (label, value), in the order it shows them."""
    h, w, c = dataset.input_shape
    return [
        ("Train images", f"{len(dataset.x_train):,}"),
        ("Test images", f"{len(dataset.x_test):,}"),
        ("Image shape", f"{h} × {w} × {c}"),
        ("Classes", dataset.num_classes),
    ]


def arrays_caption(dataset: Dataset) -> str:
    """One sentence on the arrays behind a dataset: shapes, dtypes, labels and pixels."""
    channels = dataset.input_shape[2]
    return (
        f"Arrays: x_train {dataset.x_train.shape} {dataset.x_train.dtype}, "
        f"x_test {dataset.x_test.shape} {dataset.x_test.dtype}, labels 0..{dataset.num_classes - 1}; "
        f"{'RGB' if channels == 3 else 'grayscale'} pixels 0..255."
    )
