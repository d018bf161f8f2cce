"""The one image pipeline: a photo gives the same model input on the upload path and in
Classify, for every fit mode, through a real run and its real `.keras` download."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from dashboard.data import preprocess
from dashboard.data.preprocess import FIT_MODES, Preprocessing
from dashboard.data.uploads import UploadOptions, load_zip_bytes
from dashboard.insight import inference, models
from dashboard.model.keras_file import read_metadata
from dashboard.model.spec import LayerSpec, ModelSpec
from dashboard.training import TrainSettings, start_run
from dashboard.training.pool import ResultCache
from dashboard.training.run_compare import model_bytes


def photo(seed: int, size: tuple[int, int]) -> Image.Image:
    """A smooth, non-square 'photo' with a bright blob on a gradient: resizing it with
    another filter or fit changes its pixels."""
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(seed)
    cy, cx = rng.uniform(0.2, 0.8) * height, rng.uniform(0.2, 0.8) * width
    blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (0.02 * width * height))
    base = np.stack([xx / width, yy / height, 1 - xx / width], axis=-1) * 150
    array = np.clip(base + 100 * blob[..., None] * rng.uniform(0.5, 1, 3), 0, 255)
    return Image.fromarray(array.astype(np.uint8))


def encoded(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def photo_zip() -> tuple[bytes, list[tuple[str, bytes]]]:
    """A zip with its own train/ and test/ folders, and the test photos as (name, bytes):
    big JPEGs (decoded at a reduced DCT scale), PNGs with transparency, odd shapes."""
    files, tests = {}, []
    for split, count in (("train", 4), ("test", 3)):
        for label in ("day", "night"):
            for i in range(count):
                seed = i + 10 * (split == "test") + 100 * (label == "night")
                if i % 3 == 0:
                    name, data = f"{i}.jpg", encoded(photo(seed, (640, 400)), "JPEG")
                elif i % 3 == 1:
                    rgba = photo(seed, (90, 150)).convert("RGBA")
                    rgba.putalpha(Image.new("L", rgba.size, 128))
                    name, data = f"{i}.png", encoded(rgba, "PNG")
                else:
                    name, data = f"{i}.webp", encoded(photo(seed, (33, 71)), "WEBP")
                files[f"{split}/{label}/{name}"] = data
                if split == "test":
                    tests.append((f"{split}/{label}/{name}", data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    # The upload decodes in file-name order, so x_test follows the sorted test names.
    return buffer.getvalue(), sorted(tests)


TINY = ModelSpec(
    (24, 24, 3),
    [LayerSpec("Conv2D", {"filters": 4, "kernel_size": 3}), LayerSpec("GlobalAveragePooling2D")],
    2,
    name="tiny",
)


@pytest.mark.parametrize("fit", list(FIT_MODES))
@pytest.mark.parametrize("color", ["rgb", "grayscale"])
def test_a_photo_becomes_the_same_input_in_training_and_in_classify(fit, color):
    data, test_photos = photo_zip()
    options = UploadOptions(size=24, color=color, fit=fit)
    dataset = load_zip_bytes(data, "photos.zip", options)
    assert dataset.preprocessing == Preprocessing(fit=fit, invert="never")

    run = start_run(TINY, dataset, TrainSettings(epochs=1, batch_size=4), cache=ResultCache())
    assert run.wait(300) and run.status == "done", run.error
    download = model_bytes(run)
    with zipfile.ZipFile(io.BytesIO(download)) as archive:
        saved = read_metadata(archive)
    assert saved["preprocessing"]["fit"] == fit and saved["class_names"] == ["day", "night"]

    # Classify, from the run and from the downloaded file, prepares by the saved recipe.
    for classifier in (models.from_run(run), models.load_model_file(download, "m.keras")):
        assert classifier.preprocessing == dataset.preprocessing
        assert classifier.class_names == ["day", "night"]
        prepared, errors = inference.prepare_many(
            test_photos, classifier.input_shape, classifier.preprocessing
        )
        assert errors == []
        for item, expected in zip(prepared, dataset.x_test, strict=True):
            np.testing.assert_array_equal(item.array, expected, err_msg=item.name)


def test_fit_modes_differ_and_one_filter_resizes_everything():
    array = np.asarray(photo(1, (120, 60)))
    views = {fit: preprocess.resize(array, (24, 24), fit) for fit in FIT_MODES}
    assert len({view.tobytes() for view in views.values()}) == 3
    # 'stretch' is exactly Pillow's resize with the pipeline's one filter.
    expected = np.asarray(Image.fromarray(array).resize((24, 24), preprocess.RESAMPLING))
    np.testing.assert_array_equal(views["stretch"], expected)


def test_saved_preprocessing_that_is_not_ours_falls_back_to_the_default():
    assert Preprocessing.from_dict({"fit": "zoom", "invert": 3}) == Preprocessing()
    assert Preprocessing.from_dict("fit") == Preprocessing()
    assert Preprocessing.from_dict({"background": [1, 2, 999], "fit": "crop"}) == Preprocessing(
        fit="crop"
    )
    kept = Preprocessing(fit="stretch", invert="never", frame=True, background=(0, 0, 0))
    assert Preprocessing.from_dict(kept.to_dict()) == kept


def test_a_model_file_with_hostile_metadata_still_loads_with_defaults(tmp_path):
    import json

    from dashboard.model.keras_file import save_bytes
    from dashboard.model.keras_model import build_model

    data = save_bytes(build_model(TINY, 0))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            payload = source.read(info)
            if info.filename == "metadata.json":
                payload = json.dumps(
                    {"cnnlab": {"class_names": ["x" * 5000, 3], "preprocessing": [[[[[1]]]]]}}
                ).encode()
            target.writestr(info, payload)
    classifier = models.load_model_file(out.getvalue(), "odd.keras")
    assert classifier.class_names == ["0", "1"]
    assert classifier.preprocessing == Preprocessing()
