"""Built-in datasets, the local .npz lookup, and .npz files as users upload them."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from dashboard.data import builtins, limits
from dashboard.data.builtins import choice_label, dataset_choices, load_builtin, needs_download
from dashboard.data.datasets import CIFAR10_NAMES, DataError
from dashboard.data.npz import load_npz_bytes
from dashboard.data.shapes import SHAPE_NAMES


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def small_arrays(n_train: int = 20, n_test: int = 10, classes: int = 2) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.integers(0, 256, (n_train, 8, 8), dtype=np.uint8),
        "y_train": np.arange(n_train) % classes,
        "x_test": rng.integers(0, 256, (n_test, 8, 8), dtype=np.uint8),
        "y_test": np.arange(n_test) % classes,
    }


@pytest.fixture
def empty_dirs(tmp_path, monkeypatch):
    """No local data files and an empty download cache."""
    monkeypatch.setenv("CNNLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CNNLAB_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "data").mkdir()
    return tmp_path


# --- built-ins ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shape", "n_train", "n_test"),
    [("digits", (8, 8, 1), 1437, 360), ("digits28", (28, 28, 1), 1437, 360)],
)
def test_digits_load_with_shapes_dtypes_and_classes(name, shape, n_train, n_test):
    dataset = load_builtin(name)
    assert dataset.input_shape == shape
    assert (len(dataset.x_train), len(dataset.x_test)) == (n_train, n_test)
    assert dataset.x_train.dtype == np.uint8 and dataset.y_train.dtype == np.int64
    assert dataset.class_names == [str(d) for d in range(10)]
    assert set(np.unique(dataset.y_train)) == set(range(10))
    assert dataset.x_train.max() == 255  # scaled from sklearn's 0..16
    assert dataset.shareable


def test_shapes_loads_with_the_size_and_count_asked_for():
    dataset = load_builtin("shapes", size=48, count=500, seed=3)
    assert dataset.input_shape == (48, 48, 3)
    assert len(dataset.x_train) + len(dataset.x_test) == 500
    assert dataset.x_train.dtype == np.uint8
    assert dataset.class_names == list(SHAPE_NAMES)
    train, test = dataset.class_counts()
    assert (train + test).tolist() == [100] * 5  # balanced
    assert test.tolist() == [20] * 5  # 20 % of each shape is test data
    assert "seed 3" in dataset.source


def test_shapes_is_reproducible_for_a_seed_and_differs_across_seeds():
    a = builtins.load_shapes(size=32, count=200, seed=7)
    b = builtins.load_shapes(size=32, count=200, seed=7)
    c = builtins.load_shapes(size=32, count=200, seed=8)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != c.fingerprint()


def test_shapes_objects_move_around_and_their_boxes_hold_them():
    dataset = builtins.load_shapes(size=32, count=500, seed=0)
    boxes = dataset.meta["boxes_train"]
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    # Objects sit everywhere, not in one place: a model has to find them.
    assert centres.min() < 12 and centres.max() > 20
    assert centres.std(axis=0).min() > 3
    # The box marks the object: pixels inside it differ from the background outside more
    # than the background differs from itself.
    image, (x0, y0, x1, y1) = dataset.x_train[0].astype(float), boxes[0]
    inside = image[y0:y1, x0:x1].reshape(-1, 3)
    mask = np.ones(image.shape[:2], dtype=bool)
    mask[y0:y1, x0:x1] = False
    outside = image[mask]
    assert np.abs(inside.mean(0) - outside.mean(0)).sum() > 30


def test_shapes_refuses_sizes_and_counts_out_of_range():
    with pytest.raises(DataError, match="sizes 16, 24"):
        load_builtin("shapes", size=33)
    with pytest.raises(DataError, match="between 50 and 20,000"):
        load_builtin("shapes", count=10)
    with pytest.raises(DataError, match="pick at most"):
        load_builtin("shapes", size=128, count=20_000)


def test_built_ins_are_cached_for_everybody_and_read_only():
    first = load_builtin("shapes", size=16, count=100, seed=1)
    assert load_builtin("shapes", count=100, size=16, seed=1) is first
    with pytest.raises(ValueError, match="read-only"):
        first.x_train[0, 0, 0, 0] = 1
    assert first.meta["choice"] == "shapes"
    assert first.meta["options"] == {"count": 100, "seed": 1, "size": 16}


def test_unknown_name_is_a_key_error(empty_dirs):
    with pytest.raises(KeyError, match="No dataset named 'nope'"):
        load_builtin("nope")
    (empty_dirs / "secret.npz").write_bytes(npz_bytes(**small_arrays()))
    with pytest.raises(KeyError, match="No dataset named"):
        load_builtin("../secret")  # names are never paths out of CNNLAB_DATA_DIR


# --- CNNLAB_DATA_DIR --------------------------------------------------------------------


def test_mnist_loads_from_cnnlab_data_dir(mnist_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_DATA_DIR", str(mnist_path.parent))
    dataset = load_builtin("mnist")
    assert dataset.input_shape == (28, 28, 1)
    assert (len(dataset.x_train), len(dataset.x_test)) == (60000, 5000)
    assert dataset.class_names == [str(d) for d in range(10)]
    assert str(mnist_path) in dataset.source
    assert not needs_download("mnist")
    assert choice_label("mnist") == "MNIST (on disk)"


def test_cifar10_finds_the_subset_file_with_named_classes(cifar_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_DATA_DIR", str(cifar_path.parent))
    dataset = load_builtin("cifar10")
    assert dataset.input_shape == (32, 32, 3)
    assert (len(dataset.x_train), len(dataset.x_test)) == (4000, 1000)
    assert dataset.class_names == CIFAR10_NAMES
    assert dataset.class_names[:3] == ["airplane", "automobile", "bird"]
    assert "cifar10_subset.npz" in dataset.source
    assert load_builtin("cifar10_subset").class_names == CIFAR10_NAMES


def test_cifar10_npz_wins_over_the_subset(empty_dirs):
    data = empty_dirs / "data"
    (data / "cifar10.npz").write_bytes(npz_bytes(**small_arrays(classes=10)))
    (data / "cifar10_subset.npz").write_bytes(npz_bytes(**small_arrays(classes=2)))
    dataset = load_builtin("cifar10")
    assert dataset.class_names == CIFAR10_NAMES
    assert str(data / "cifar10.npz") in dataset.source


def test_downloaded_datasets_are_read_from_the_cache_without_network(empty_dirs):
    cache = empty_dirs / "cache"
    cache.mkdir()
    arrays = small_arrays(classes=10)
    (cache / "fashion_mnist.npz").write_bytes(npz_bytes(**arrays))
    assert choice_label("fashion_mnist") == "Fashion-MNIST (on disk)"
    dataset = load_builtin("fashion_mnist")
    assert dataset.class_names[:2] == ["T-shirt/top", "Trouser"]
    assert "download cache" in dataset.source
    assert np.array_equal(dataset.x_train[..., 0], arrays["x_train"])


def test_choices_list_every_source_and_say_which_need_the_network(empty_dirs):
    keys = [c.key for c in dataset_choices()]
    assert keys == ["digits", "digits28", "shapes", "mnist", "fashion_mnist", "cifar10"]
    assert choice_label("shapes") == "Shapes (built in)"
    assert choice_label("cifar10") == "CIFAR-10 (download, 163 MB)"
    assert needs_download("cifar10") and not needs_download("digits")


# --- .npz files -------------------------------------------------------------------------


def test_uploaded_npz_in_keras_layout_loads_with_its_class_names():
    arrays = small_arrays(classes=3)
    arrays["class_names"] = np.array(["ant", "bee", "cow"])
    dataset = load_npz_bytes(npz_bytes(**arrays), "bugs.npz")
    assert dataset.name == "bugs"
    assert dataset.class_names == ["ant", "bee", "cow"]
    assert dataset.input_shape == (8, 8, 1)
    assert not dataset.shareable


def test_npz_normalises_keras_labels_and_float_pixels():
    arrays = small_arrays()
    arrays["y_train"] = arrays["y_train"].reshape(-1, 1).astype(np.uint8)  # CIFAR style
    arrays["x_test"] = arrays["x_test"] / 255.0  # already scaled floats
    dataset = load_npz_bytes(npz_bytes(**arrays), "mixed.npz")
    assert dataset.y_train.shape == (20,) and dataset.y_train.dtype == np.int64
    assert dataset.x_test.dtype == np.uint8
    assert np.abs(dataset.x_test[..., 0].astype(int) - small_arrays()["x_test"]).max() <= 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.pop("y_test"), "lacks 'y_test'"),
        (lambda a: a.update(y_train=a["y_train"][:-3]), "has 20 images but 'y_train' has 17"),
        (lambda a: a.update(x_test=np.zeros((10, 9, 9), np.uint8)), "same height, width"),
        (lambda a: a.update(x_train=np.zeros((20, 8), np.uint8)), "must hold images"),
        (lambda a: a.update(x_train=np.full((20, 8, 8), 300)), "outside 0..255"),
        (lambda a: a.update(y_train=-a["y_train"] - 1), "whole numbers from 0"),
        (lambda a: a.update(class_names=np.array(["one"])), "only 1 class names"),
        (lambda a: a.update(y_train=a["y_train"] * 0, y_test=a["y_test"] * 0), "at least 2"),
    ],
)
def test_bad_npz_gives_one_clear_sentence(change, message):
    arrays = small_arrays()
    change(arrays)
    with pytest.raises(DataError, match=message) as info:
        load_npz_bytes(npz_bytes(**arrays), "bad.npz")
    assert str(info.value).count(". ") == 0 and str(info.value).endswith(".")


def test_npz_with_python_objects_is_refused_without_unpickling():
    arrays = small_arrays()
    arrays["class_names"] = np.array([{"evil": 1}, "b"], dtype=object)
    with pytest.raises(DataError, match="could not be read"):
        load_npz_bytes(npz_bytes(**arrays), "pickled.npz")


def test_a_file_that_is_not_npz_is_refused():
    with pytest.raises(DataError, match=r"is not an \.npz file"):
        load_npz_bytes(b"x_train,y_train\n1,2\n", "table.npz")


def test_npz_bomb_is_refused_before_loading():
    zeros = np.zeros((64, 1024, 1024), dtype=np.uint8)  # 64 MB that compress to ~64 KB
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x_train=zeros, y_train=np.zeros(64), x_test=zeros[:1], y_test=[0])
    with pytest.raises(DataError, match="zip bomb"):
        load_npz_bytes(buffer.getvalue(), "bomb.npz")


def test_upload_size_limit_is_refused(monkeypatch):
    monkeypatch.setattr(limits, "MAX_UPLOAD_BYTES", 1000)
    with pytest.raises(DataError, match="uploads are limited to 1000 bytes"):
        load_npz_bytes(npz_bytes(**small_arrays()), "big.npz")


def test_local_files_outside_the_project_are_not_copied(mnist_path, monkeypatch):
    # Loading reads ../shared/data in place; nothing lands in the project tree.
    root = Path(__file__).resolve().parents[2]
    before = {p for p in root.rglob("*.npz")}
    monkeypatch.setenv("CNNLAB_DATA_DIR", str(mnist_path.parent))
    load_builtin("mnist")
    assert {p for p in root.rglob("*.npz")} == before


def test_a_local_file_is_described_by_what_it_holds_not_the_downloads_size(mnist_path, cifar_path):
    from dashboard.data.builtins import choice_blurb

    # ../shared/data holds 65,000 MNIST images and a 5,000-image CIFAR-10 subset.
    assert choice_blurb("mnist").startswith("65,000 handwritten digits")
    assert choice_blurb("cifar10").startswith("5,000 colour photos")
    assert "cifar10_subset.npz" in choice_blurb("cifar10")
    assert choice_blurb("digits") == "scikit-learn's 1797 handwritten digits, tiny and fast"
