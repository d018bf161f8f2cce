"""The Data page's preview pieces: sample strips per class and the counts chart, as data."""

from __future__ import annotations

import numpy as np

from dashboard.data.builtins import load_builtin
from dashboard.data.datasets import Dataset
from dashboard.data.preview import GAP, arrays_caption, class_strips, dataset_metrics
from dashboard.ui.model_charts import class_counts_figure


def test_strips_show_samples_of_each_class_upscaled_crisply():
    dataset = load_builtin("digits")
    strips = class_strips(dataset, per_class=5)
    assert [s.name for s in strips] == [str(d) for d in range(10)]
    first = strips[0]
    assert first.image.ndim == 2  # grayscale stays 2-D for st.image
    assert first.image.shape == (64, 5 * 64 + 4 * GAP)  # 8×8 tiles drawn 8× larger
    tile = first.image[:64, :64]
    # Nearest-neighbour: each source pixel is a flat 8×8 block, and the tile is a real "0".
    assert (tile.reshape(8, 8, 8, 8) == tile[::8, ::8][:, None, :, None]).all()
    sources = dataset.x_train[dataset.y_train == 0][..., 0]
    assert (sources == tile[::8, ::8]).all(axis=(1, 2)).any()
    assert (first.train_count, first.test_count) == (136, 42)
    assert first.caption == "0: 136 train, 42 test"


def test_strips_keep_colour_and_stop_at_max_classes():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (60, 32, 32, 3), dtype=np.uint8)
    y = np.arange(60) % 30
    dataset = Dataset("many", x, y, x[:30], y[:30], [f"c{i}" for i in range(30)], "test")
    strips = class_strips(dataset, per_class=8, max_classes=20)
    assert len(strips) == 20
    assert strips[0].image.shape == (64, 2 * 64 + GAP, 3)  # only 2 images per class exist


def test_counts_chart_stacks_train_and_test_per_class():
    fig = class_counts_figure(["cat", "dog"], [8, 6], [2, 1])
    assert [t.name for t in fig.data] == ["train", "test"]
    assert list(fig.data[0].x) == ["cat", "dog"] and list(fig.data[0].y) == [8, 6]
    assert list(fig.data[1].y) == [2, 1]
    assert fig.layout.barmode == "stack" and fig.layout.xaxis.type == "category"


def test_summary_of_a_dataset_is_what_the_data_page_shows():
    digits = load_builtin("digits")
    assert dataset_metrics(digits) == [
        ("Train images", "1,437"),
        ("Test images", "360"),
        ("Image shape", "8 × 8 × 1"),
        ("Classes", 10),
    ]
    assert arrays_caption(digits) == (
        "Arrays: x_train (1437, 8, 8, 1) uint8, x_test (360, 8, 8, 1) uint8, labels 0..9; "
        "grayscale pixels 0..255."
    )
    assert arrays_caption(load_builtin("shapes")).endswith("labels 0..4; RGB pixels 0..255.")
