"""Uploads of zipped class folders: real images decoded in memory, and every bad input refused."""

from __future__ import annotations

import io
import zipfile
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from dashboard.data import limits
from dashboard.data.datasets import CIFAR10_NAMES, DataError
from dashboard.data.uploads import UploadOptions, load_upload, load_zip_bytes, skipped_summary


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def make_zip(entries: dict[str, bytes] | list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items() if isinstance(entries, dict) else entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def toy_images(n: int, size: int = 12, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(n)]


def two_classes(n: int = 4) -> dict[str, bytes]:
    """A valid zip's entries: n cats and n dogs."""
    return {
        f"{label}/{i}.png": png(img)
        for label in ("cat", "dog")
        for i, img in enumerate(toy_images(n, seed=len(label) + (label == "dog")))
    }


@pytest.fixture(scope="module")
def cifar(cifar_path):
    with np.load(cifar_path) as npz:
        return npz["x_train"], npz["y_train"].astype(int)


@pytest.fixture
def in_tmp_dir(tmp_path, monkeypatch):
    """Run in an empty folder, so anything written relative to it would show."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def assert_nothing_written(work):
    assert list(work.iterdir()) == []
    assert not (work.parent / "evil.png").exists()


# --- real images ------------------------------------------------------------------------


def test_cifar10_zip_of_class_folders_loads_with_its_classes_and_counts(cifar, in_tmp_dir):
    x, y = cifar
    per_class = 12
    picks = {c: np.flatnonzero(y == c)[:per_class] for c in range(10)}
    entries = {
        f"cifar10/{CIFAR10_NAMES[c]}/{i:04d}.png": png(x[i])
        for c, idx in picks.items()
        for i in idx
    }
    dataset = load_zip_bytes(make_zip(entries), "cifar10.zip", UploadOptions(size=32))

    assert dataset.class_names == sorted(CIFAR10_NAMES)
    train, test = dataset.class_counts()
    assert (train + test).tolist() == [per_class] * 10
    assert test.tolist() == [round(per_class * 0.2)] * 10  # 20 % per class, seeded
    assert dataset.input_shape == (32, 32, 3)
    assert not dataset.shareable and dataset.name == "cifar10"
    assert skipped_summary(dataset) is None
    # 32×32 PNGs at 32×32 come through pixel for pixel, under the right class name.
    for image, label in zip(dataset.x_train, dataset.y_train, strict=True):
        source = x[picks[CIFAR10_NAMES.index(dataset.class_names[label])]]
        assert (source == image).all(axis=(1, 2, 3)).any()
    assert_nothing_written(in_tmp_dir)


def test_train_and_test_folders_keep_their_split(cifar):
    x, y = cifar
    entries = {}
    for c in (0, 1, 2):
        idx = np.flatnonzero(y == c)
        entries |= {f"Training/{CIFAR10_NAMES[c]}/{i}.jpg": jpeg(x[i]) for i in idx[:6]}
        entries |= {f"Test/{CIFAR10_NAMES[c]}/{i}.jpg": jpeg(x[i]) for i in idx[6:8]}
    dataset = load_zip_bytes(make_zip(entries), "fruits-like.zip", UploadOptions(size=16))
    train, test = dataset.class_counts()
    assert train.tolist() == [6, 6, 6] and test.tolist() == [2, 2, 2]
    assert dataset.class_names == ["airplane", "automobile", "bird"]
    assert "its own test folder" in dataset.source


def test_images_are_resized_to_the_size_and_colour_picked():
    big = [np.full((300, 200, 3), v, np.uint8) for v in (40, 200)]
    entries = {f"{label}/{i}.jpg": jpeg(img) for i, img in enumerate(big) for label in "ab"}
    gray = load_zip_bytes(
        make_zip(entries), "photos.zip", UploadOptions(size=100, color="grayscale")
    )
    assert gray.input_shape == (100, 100, 1)
    crop = load_zip_bytes(make_zip(entries), "photos.zip", UploadOptions(size=28, fit="crop"))
    assert crop.input_shape == (28, 28, 3)
    assert set(np.unique(crop.x_train)) <= set(range(35, 46)) | set(range(195, 206))


def test_transparent_and_palette_images_load_on_white():
    rgba = np.zeros((10, 10, 4), np.uint8)  # fully transparent black
    entries = {f"{c}/{i}.png": png(rgba) for c in "xy" for i in range(2)}
    dataset = load_zip_bytes(make_zip(entries), "icons.zip", UploadOptions(size=10))
    assert dataset.x_train.min() == 255


def test_same_zip_and_seed_give_the_same_dataset():
    data = make_zip(two_classes(6))
    a = load_zip_bytes(data, "a.zip", UploadOptions(seed=5))
    b = load_zip_bytes(data, "a.zip", UploadOptions(seed=5))
    c = load_zip_bytes(data, "a.zip", UploadOptions(seed=6))
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


def test_os_junk_is_ignored_and_files_outside_class_folders_are_skipped():
    entries = two_classes() | {
        "__MACOSX/cat/._0.png": b"junk",
        "cat/.DS_Store": b"junk",
        "README.txt": b"my photos",
    }
    dataset = load_zip_bytes(make_zip(entries), "mac.zip")
    assert dataset.meta["skipped"] == [("README.txt", "not in a class folder")]


def test_an_enclosing_folder_is_looked_through_even_with_a_readme_in_it():
    entries = {f"my pets/{name}": data for name, data in two_classes().items()}
    entries["my pets/README.md"] = b"cats and dogs"
    dataset = load_zip_bytes(make_zip(entries), "pets.zip")
    assert dataset.class_names == ["cat", "dog"]
    assert dataset.meta["skipped"] == [("my pets/README.md", "not in a class folder")]


def test_upload_dispatches_npz_and_zip_by_name():
    buffer = io.BytesIO()
    np.savez(buffer, x_train=np.zeros((4, 5, 5), np.uint8), y_train=[0, 1, 0, 1],
             x_test=np.zeros((2, 5, 5), np.uint8), y_test=[0, 1])  # fmt: skip
    assert load_upload(buffer.getvalue(), "tiny.NPZ").input_shape == (5, 5, 1)
    assert load_upload(make_zip(two_classes()), "pets.zip").class_names == ["cat", "dog"]


# --- bad inputs: one sentence each, nothing written, the next upload still works ------------


def refuse(entries, match: str, name: str = "bad.zip") -> str:
    with pytest.raises(DataError, match=match) as info:
        load_zip_bytes(make_zip(entries) if not isinstance(entries, bytes) else entries, name)
    message = str(info.value)
    assert message.endswith(".") and ". " not in message, message  # one sentence
    return message


def test_dot_dot_entry_is_refused(in_tmp_dir):
    message = refuse(
        two_classes() | {"../evil.png": png(toy_images(1)[0])}, "absolute path or '..'"
    )
    assert "'../evil.png'" in message
    assert_nothing_written(in_tmp_dir)
    assert load_zip_bytes(make_zip(two_classes()), "good.zip").num_classes == 2


@pytest.mark.parametrize("name", ["/tmp/cnnlab-evil/x.png", "C:/evil/x.png", "\\evil\\x.png"])
def test_absolute_paths_are_refused(name, in_tmp_dir):
    message = refuse(two_classes() | {name: b"x"}, "absolute path or '..'")
    assert name in message
    assert_nothing_written(in_tmp_dir)


def test_zip_bomb_of_zeros_is_refused_before_unpacking(in_tmp_dir):
    bomb = b"\0" * (8 * limits.MB)  # 8 MB of zeros pack into about 8 KB
    data = make_zip(two_classes() | {"cat/huge.png": bomb})
    assert len(data) < 100_000
    message = refuse(data, "zip bomb")
    assert "expand" in message
    assert_nothing_written(in_tmp_dir)


def test_many_small_entries_that_add_up_to_a_bomb_are_refused(in_tmp_dir):
    entries = [(f"cat/zeros{i}.png", b"\0" * 200_000) for i in range(10)]  # each under 1 MB
    refuse(entries + list(two_classes().items()), "zip bomb")


def test_too_much_unpacked_data_is_refused(monkeypatch):
    monkeypatch.setattr(limits, "MAX_UNCOMPRESSED_BYTES", 1000)
    refuse(two_classes(), r"would unpack to .* the limit is 1000 bytes")


def test_too_many_entries_are_refused(monkeypatch):
    monkeypatch.setattr(limits, "MAX_ZIP_ENTRIES", 5)
    refuse(two_classes(), "holds 8 entries; the limit is 5")


def test_too_many_pixels_for_memory_are_refused(monkeypatch):
    monkeypatch.setattr(limits, "MAX_DATASET_BYTES", 1000)
    message = refuse(two_classes(), "pick a smaller image size")
    assert "8 images of 32×32" in message


def test_text_file_named_png_is_skipped_and_named():
    dataset = load_zip_bytes(
        make_zip(two_classes() | {"cat/notes.png": b"not a picture\n"}), "t.zip"
    )
    assert len(dataset.y_train) + len(dataset.y_test) == 8
    summary = skipped_summary(dataset)
    assert summary == (
        "Skipped 1 file that could not be used, for example 'cat/notes.png' (not an image); "
        "all other images loaded."
    )


def test_truncated_png_is_skipped():
    whole = png(toy_images(1, size=64)[0])
    dataset = load_zip_bytes(
        make_zip(two_classes() | {"dog/cut.png": whole[: len(whole) // 2]}), "t.zip"
    )
    assert dataset.meta["skipped"][0][0] == "dog/cut.png"
    assert "damaged image" in dataset.meta["skipped"][0][1]


def test_decompression_bomb_image_is_skipped_by_pillows_guard():
    buffer = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(buffer, "PNG")  # 100 megapixels in ~12 KB
    dataset = load_zip_bytes(make_zip(two_classes() | {"cat/bomb.png": buffer.getvalue()}), "t.zip")
    assert dataset.meta["skipped"] == [("cat/bomb.png", "over 25 megapixels")]


def test_image_over_the_pixel_limit_is_skipped(monkeypatch):
    # Pillow's own guard, which limits.py sets for the whole app; the toys are 12×12.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 200)
    entries = two_classes() | {"cat/big.png": png(np.zeros((20, 20, 3), np.uint8))}
    dataset = load_zip_bytes(make_zip(entries), "t.zip")
    assert dataset.meta["skipped"] == [("cat/big.png", "over 0.0002 megapixels")]


def test_empty_zip_is_refused(in_tmp_dir):
    refuse({}, "has no images in class folders")
    refuse({"photos/": b""}, "has no images in class folders")


def test_single_class_is_refused():
    entries = {f"cat/{i}.png": png(img) for i, img in enumerate(toy_images(5))}
    message = refuse(entries, "at least 2")
    assert "1 class with images ('cat')" in message


def test_class_with_one_image_is_refused():
    entries = two_classes() | {"fox/0.png": png(toy_images(1)[0])}
    refuse(entries, "Class 'fox' in 'bad.zip' has only 1 image")


def test_all_images_broken_is_refused_after_skipping():
    refuse({f"{c}/{i}.png": b"garbage" for c in "ab" for i in range(3)}, "0 classes with images")


def test_not_a_zip_is_refused():
    refuse(b"PK but not really", "is not a zip file")


def test_upload_size_is_refused(monkeypatch):
    monkeypatch.setattr(limits, "MAX_UPLOAD_BYTES", 100)
    refuse(two_classes(), "uploads are limited to 100 bytes")


def test_class_counts_stay_in_order_of_names():
    entries = two_classes(3) | {f"ant/{i}.png": png(img) for i, img in enumerate(toy_images(5))}
    dataset = load_zip_bytes(make_zip(entries), "t.zip")
    assert dataset.class_names == ["ant", "cat", "dog"]
    labels = Counter(np.concatenate([dataset.y_train, dataset.y_test]).tolist())
    assert [labels[i] for i in range(3)] == [5, 3, 3]
