"""dashboard.insight (inference, models, prediction, explain) and the image pipeline:
decoding, preprocessing, model loading, prediction, feature maps, Grad-CAM.

Real images (made with Pillow), real Keras models (built and trained small).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from dashboard.data import limits, preprocess
from dashboard.data.images import decode_image
from dashboard.data.preprocess import Preprocessing
from dashboard.insight import explain, inference, models, prediction
from dashboard.insight.inference import ImageError
from dashboard.insight.models import ModelFileError
from dashboard.model.keras_model import build_model, layer_name
from dashboard.model.presets import load_preset
from dashboard.model.spec import LayerSpec, ModelSpec


def encode(image: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def zero_pixel_png() -> bytes:
    header = struct.pack(">IIBBBBB", 0, 0, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b""))
        + png_chunk(b"IEND", b"")
    )


def digit_like(size: int = 56, dark_on_light: bool = True) -> Image.Image:
    """A thick vertical bar in the middle: enough of a 'digit' for preprocessing tests."""
    array = np.zeros((size, size), np.uint8)
    array[size // 5 : -size // 5, size // 2 - 3 : size // 2 + 3] = 255
    return Image.fromarray(255 - array if dark_on_light else array)


# --- bad images: one clear message each -------------------------------------------------

BAD_IMAGES = {
    "not an image": (b"hello, this is a text file\n" * 20, "is not an image"),
    "empty": (b"", "empty file"),
    "zero pixels": (zero_pixel_png(), "0×0 pixels"),
}


@pytest.mark.parametrize("case", list(BAD_IMAGES))
def test_bad_image_gets_its_message(case):
    data, phrase = BAD_IMAGES[case]
    with pytest.raises(ImageError) as info:
        decode_image(data, "upload.png")
    message = str(info.value)
    assert phrase in message and message.startswith("upload.png")
    assert message.count(".") <= 3 and "\n" not in message


def test_truncated_image_gets_its_message():
    rng = np.random.default_rng(0)
    data = encode(Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)))
    with pytest.raises(ImageError, match="truncated or damaged"):
        decode_image(data[: len(data) // 2], "half.png")


def test_truncated_jpeg_gets_its_message():
    rng = np.random.default_rng(1)
    data = encode(Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)), "JPEG")
    with pytest.raises(ImageError, match="truncated or damaged"):
        decode_image(data[: len(data) // 3], "half.jpg")


def test_decompression_bomb_is_refused_at_pillows_limit():
    # A 1-bit 10000×10000 PNG is a few kB but 100 M pixels, over Pillow's 89 M limit.
    data = encode(Image.new("1", (10_000, 10_000)))
    assert len(data) < 100_000
    assert Image.MAX_IMAGE_PIXELS < 10_000 * 10_000
    with pytest.raises(ImageError, match="decompression bomb") as info:
        decode_image(data, "bomb.png")
    assert "10000×10000" in str(info.value)


def test_unsupported_format_is_refused():
    data = encode(Image.new("RGB", (8, 8)), "TIFF")
    with pytest.raises(ImageError, match="PNG, JPEG, WebP, BMP or GIF"):
        decode_image(data, "scan.tiff")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP", "GIF"])
def test_supported_formats_decode(fmt):
    image = decode_image(encode(digit_like(), fmt), f"x.{fmt.lower()}")
    assert image.size == (56, 56)


def test_gif_uses_its_first_frame():
    frames = [Image.new("L", (10, 10), 20), Image.new("L", (10, 10), 230)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    image = decode_image(data, "anim.gif")
    assert getattr(image, "n_frames", 1) == 2
    assert np.asarray(image.convert("L")).mean() < 60


# --- preprocessing -----------------------------------------------------------------------


def test_exif_orientation_is_applied():
    wide = Image.new("RGB", (40, 20), (0, 0, 0))
    wide.paste((255, 255, 255), (0, 0, 10, 20))  # white on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    data = encode(wide, "JPEG", exif=exif.tobytes(), quality=95)
    prepared = inference.prepare(
        decode_image(data, "photo.jpg"), (40, 40, 3), Preprocessing(fit="fit")
    )
    assert prepared.original.size == (20, 40)  # now tall
    top = np.asarray(prepared.original)[:10].mean()
    assert top > 200  # the white strip is now at the top


def test_alpha_is_composited_over_the_background():
    rgba = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    rgba.paste((0, 0, 0, 255), (5, 5, 15, 15))
    image = decode_image(encode(rgba), "logo.png")
    white = inference.prepare(image, (20, 20, 1), Preprocessing(invert="never"))
    black = inference.prepare(
        image, (20, 20, 1), Preprocessing(invert="never", background=(0, 0, 0))
    )
    assert white.array[0, 0, 0] == 255 and white.array[10, 10, 0] == 0
    assert black.array[0, 0, 0] == 0


def test_grayscale_and_rgb_outputs():
    image = Image.new("RGB", (30, 30), (200, 10, 10))
    assert inference.prepare(image, (28, 28, 3)).array.shape == (28, 28, 3)
    gray = inference.prepare(image, (28, 28, 1), Preprocessing(invert="never")).array
    assert gray.shape == (28, 28, 1)
    # ITU-R 601 luma of (200, 10, 10)
    assert abs(int(gray[5, 5, 0]) - round(0.299 * 200 + 0.587 * 10 + 0.114 * 10)) <= 1


def test_auto_inversion_only_for_a_light_background():
    dark_on_light = inference.prepare(digit_like(dark_on_light=True), (28, 28, 1))
    light_on_dark = inference.prepare(digit_like(dark_on_light=False), (28, 28, 1))
    assert dark_on_light.inverted and not light_on_dark.inverted
    # Either way the model sees a white bar on black.
    for prepared in (dark_on_light, light_on_dark):
        assert prepared.array[0, 0, 0] < 10 and prepared.array[14, 14, 0] > 200
    forced = inference.prepare(
        digit_like(dark_on_light=False), (28, 28, 1), Preprocessing(invert="always")
    )
    kept = inference.prepare(
        digit_like(dark_on_light=True), (28, 28, 1), Preprocessing(invert="never")
    )
    assert forced.inverted and forced.array[0, 0, 0] > 200
    assert not kept.inverted and kept.array[0, 0, 0] > 200
    # RGB models are never inverted.
    rgb = inference.prepare(digit_like(dark_on_light=True).convert("RGB"), (28, 28, 3))
    assert not rgb.inverted


def test_resize_modes():
    # A 2:1 image: white left half, black right half on a gray frame.
    array = np.full((50, 100, 1), 128, np.uint8)
    array[2:-2, 2:50] = 255
    array[2:-2, 50:-2] = 0
    fit = preprocess.resize(array, (28, 28), "fit")
    crop = preprocess.resize(array, (28, 28), "crop")
    stretch = preprocess.resize(array, (28, 28), "stretch")
    assert fit.shape == crop.shape == stretch.shape == (28, 28, 1)
    # Fit pads top and bottom with the border colour (gray) and keeps both halves.
    assert fit[0, 14, 0] == 128 and fit[-1, 14, 0] == 128
    assert fit[14, 5, 0] > 200 and fit[14, 22, 0] < 50
    assert fit[4, 5, 0] == 128  # 7 rows of padding above the 28×14 content
    # Centre crop keeps the middle square: content from near the top, no padding band.
    assert crop[4, 5, 0] > 200 and crop[4, 22, 0] < 50
    # Stretch fills everything: the gray frame is only the thin border.
    assert stretch[14, 7, 0] > 200 and stretch[14, 20, 0] < 50
    with pytest.raises(ValueError):
        preprocess.resize(array, (28, 28), "zoom")


def test_frame_digit_centres_by_mass():
    array = np.zeros((28, 28, 1), np.uint8)
    array[2:8, 18:22] = 255  # a small stroke in the top-right corner
    framed = preprocess.frame_digit(array)[..., 0].astype(float)
    ys, _ = np.nonzero(framed)
    cy = (framed.sum(axis=1) @ np.arange(28)) / framed.sum()
    cx = (framed.sum(axis=0) @ np.arange(28)) / framed.sum()
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1
    assert ys.max() - ys.min() + 1 == 20  # the tall side fills the 20-pixel box


def test_prepare_many_keeps_going_after_a_bad_file():
    good = encode(digit_like())
    prepared, errors = inference.prepare_many(
        [("a.png", good), ("b.png", b"junk"), ("c.png", good)], (28, 28, 1)
    )
    assert [item.name for item in prepared] == ["a.png", "c.png"]
    assert len(errors) == 1 and errors[0].startswith("b.png")


def test_is_blank():
    assert inference.is_blank(np.zeros((10, 10, 4), np.uint8))
    drawn = np.zeros((10, 10, 4), np.uint8)
    drawn[3:5, 3:5] = 255
    assert not inference.is_blank(drawn)


def test_a_drawing_is_white_on_black_whatever_the_models_background():
    canvas = np.zeros((280, 280, 4), np.uint8)  # the canvas sends transparent black
    assert inference.prepare_drawing(None, (28, 28, 1)) is None  # nothing sent yet
    assert inference.prepare_drawing(canvas, (28, 28, 1)) is None  # nothing drawn
    canvas[40:240, 130:150] = 255  # a white "1"
    white_paper = Preprocessing(background=(255, 255, 255))
    drawing = inference.prepare_drawing(canvas, (28, 28, 1), white_paper)
    assert drawing.name == "drawing" and not drawing.inverted
    assert drawing.array.shape == (28, 28, 1)
    assert drawing.array[14, 14, 0] > 200 and drawing.array[0, 0, 0] == 0


def test_what_the_model_sees_is_said_in_words():
    ink = inference.prepare(digit_like(), (28, 28, 1), Preprocessing(invert="auto"))
    assert inference.model_view_caption(ink, (28, 28, 1)) == (
        "What the model sees: 28×28, grayscale, inverted to white on black"
    )
    photo = inference.prepare(digit_like().convert("RGB"), (32, 32, 3))
    assert inference.model_view_caption(photo, (32, 32, 3)) == "What the model sees: 32×32, RGB"


def test_predictions_csv_has_no_thumbnails():
    prepared = [
        inference.prepare(digit_like(), (28, 28, 1), name=name) for name in ("a.png", "b.png")
    ]
    probs = np.array([[0.25, 0.75], [0.5, 0.5]])
    table = inference.results_table(prepared, probs, ["cat", "dog"])
    assert list(table.columns) == ["image", "file", "prediction", "confidence"]
    assert inference.predictions_csv(table).splitlines() == [
        "file,prediction,confidence",
        "a.png,dog,0.75",
        "b.png,cat,0.5",
    ]


def test_typed_class_names_are_used_only_when_there_is_one_per_class():
    numbers = ["0", "1", "2"]
    assert inference.class_names_from_text(" cat, dog ,fox", numbers) == (
        ["cat", "dog", "fox"],
        None,
    )
    assert inference.class_names_from_text("", numbers) == (numbers, None)
    assert inference.class_names_from_text(" , ,", numbers) == (numbers, None)
    names, warning = inference.class_names_from_text("cat, dog", numbers)
    assert names == numbers
    assert warning == (
        "You gave 2 names but the model has 3 classes; using the class numbers instead."
    )


def test_background_colour_as_the_colour_picker_writes_it():
    assert inference.hex_color((255, 0, 16)) == "#FF0010"
    assert inference.rgb_from_hex("#FF0010") == (255, 0, 16)
    assert inference.rgb_from_hex("#ff0010") == (255, 0, 16)
    assert inference.rgb_from_hex(inference.hex_color((1, 2, 3))) == (1, 2, 3)


# --- models: loading, checking, predicting --------------------------------------------------


def small_spec(num_classes: int = 3, shape=(16, 16, 1)) -> ModelSpec:
    return ModelSpec(
        shape,
        [
            LayerSpec("Conv2D", {"filters": 4, "kernel_size": 3}),
            LayerSpec("MaxPooling2D"),
            LayerSpec("Flatten"),
        ],
        num_classes,
        name="small",
    )


def keras_bytes(model) -> bytes:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.keras"
        model.save(path)
        return path.read_bytes()


def test_uploaded_model_loads_with_default_class_names():
    classifier = models.load_model_file(keras_bytes(build_model(small_spec(4), 0)), "m.keras")
    assert classifier.input_shape == (16, 16, 1)
    assert classifier.class_names == ["0", "1", "2", "3"]
    probs = prediction.predict(classifier.model, np.zeros((3, 16, 16, 1), np.uint8))
    assert probs.shape == (3, 4) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)


def test_one_sigmoid_unit_is_two_classes():
    model = build_model(small_spec(2), 0)
    assert model.output_shape == (None, 1)
    classifier = models.load_model_file(keras_bytes(model), "cats.keras")
    assert classifier.binary and classifier.class_names == ["0", "1"]
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (5, 16, 16, 1), dtype=np.uint8)
    probs = prediction.predict(classifier.model, images)
    p1 = np.asarray(model(images.astype("float32") / 255))[:, 0]
    assert probs.shape == (5, 2)
    assert np.allclose(probs[:, 1], p1, atol=1e-5) and np.allclose(probs.sum(axis=1), 1)
    cam, target = explain.grad_cam(classifier, images[0])
    assert cam.shape == (16, 16) and target == int(probs[0].argmax())


def test_logit_output_gets_softmax():
    import keras

    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(2, 3)(inputs)
    x = keras.layers.Flatten()(x)
    model = keras.Model(inputs, keras.layers.Dense(3)(x))  # no activation: logits
    classifier = models.Classifier(model, "logits", ["a", "b", "c"])
    assert classifier.outputs_logits
    probs = prediction.predict(classifier.model, np.full((2, 8, 8, 3), 100, np.uint8))
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-5) and (probs > 0).all()


def test_model_that_rescales_itself_gets_raw_pixels():
    import keras

    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Flatten()(x)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    assert models.Classifier(model, "r", ["a", "b"]).input_divisor == 1.0
    assert models.Classifier(build_model(small_spec(), 0), "s", list("abc")).input_divisor == 255


def test_sequential_model_works_end_to_end():
    import keras

    model = keras.Sequential(
        [
            keras.Input((12, 12, 3)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.AveragePooling2D(2),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(5, activation="softmax"),
        ]
    )
    classifier = models.load_model_file(keras_bytes(model), "seq.keras")
    image = np.random.default_rng(2).integers(0, 255, (12, 12, 3), dtype=np.uint8)
    maps = explain.feature_maps(classifier, image)
    assert [m.shape for m in maps.values()] == [(10, 10, 4), (5, 5, 4)]
    cam, _ = explain.grad_cam(classifier, image, class_index=3)
    assert cam.shape == (12, 12)
    assert explain.first_conv_filters(classifier).shape == (3, 3, 3, 4)


def test_non_image_model_is_refused():
    import keras

    inputs = keras.Input((10,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
    with pytest.raises(ModelFileError, match=r"not an image \(height, width, channels\)"):
        models.load_model_file(keras_bytes(model), "tabular.keras")


def test_model_with_python_code_is_refused_in_safe_mode():
    import keras

    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    x = keras.layers.Flatten()(x)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    with pytest.raises(ModelFileError, match="Python code"):
        models.load_model_file(keras_bytes(model), "lambda.keras")


def test_not_a_model_file_is_refused():
    with pytest.raises(ModelFileError, match="not a Keras model file"):
        models.load_model_file(b"just some text, not a zip", "notes.keras")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "a zip, but not a model")
    with pytest.raises(ModelFileError, match="not a Keras model file"):
        models.load_model_file(buffer.getvalue(), "other.keras")


def test_corrupt_model_file_is_refused():
    data = bytearray(keras_bytes(build_model(small_spec(), 0)))
    # Damage the middle of the archive (the weights), keeping the zip directory readable.
    middle = len(data) // 2
    data[middle : middle + 2000] = bytes(2000)
    with pytest.raises(ModelFileError) as info:
        models.load_model_file(bytes(data), "broken.keras")
    assert "broken.keras" in str(info.value)
    with pytest.raises(ModelFileError):
        models.load_model_file(bytes(data[: len(data) // 2]), "half.keras")


def test_model_over_the_size_limit_is_refused(monkeypatch):
    data = keras_bytes(build_model(small_spec(), 0))
    monkeypatch.setattr(limits, "MAX_MODEL_BYTES", len(data) - 1)
    with pytest.raises(ModelFileError, match=r"over the .* limit"):
        models.load_model_file(data, "big.keras")


def test_top_k():
    probs = np.array([0.1, 0.6, 0.05, 0.25])
    assert prediction.top_k(probs, list("abcd"), 2) == [("b", 0.6), ("d", 0.25)]
    assert len(prediction.top_k(probs, list("abcd"), 10)) == 4


# --- inside the model ----------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["default", "lenet5", "tiny_vgg"])
def test_feature_map_shapes_equal_the_spec(preset):
    spec = load_preset(preset)
    classifier = models.Classifier(build_model(spec, 0), preset, [str(i) for i in range(10)])
    image = np.random.default_rng(0).integers(0, 255, spec.input_shape, dtype=np.uint8)
    maps = explain.feature_maps(classifier, image)
    analysis = spec.analyze()
    expected = {
        layer_name(i, layer): analysis.layers[i - 1].output_shape
        for i, layer in enumerate(spec.layers, start=1)
        if layer.type in ("Conv2D", "MaxPooling2D", "AveragePooling2D")
    }
    assert expected, "the preset has conv layers"
    assert {name: m.shape for name, m in maps.items()} == expected


def test_first_layer_filters_are_the_kernels():
    spec = load_preset("default")
    model = build_model(spec, 0)
    classifier = models.Classifier(model, "d", [str(i) for i in range(10)])
    kernels = explain.first_conv_filters(classifier)
    assert kernels.shape == (3, 3, 1, 16)
    assert np.array_equal(kernels, model.get_layer("L01_conv2d").get_weights()[0])


# --- Grad-CAM on a shapes dataset ----------------------------------------------------------

SHAPE_SIZE, OBJECT = 32, 9


def draw_shape(kind: int) -> np.ndarray:
    """9×9 object: 0 filled square, 1 hollow square, 2 plus sign."""
    patch = np.zeros((OBJECT, OBJECT), np.float32)
    if kind == 0:
        patch[:] = 1
    elif kind == 1:
        patch[:] = 1
        patch[2:-2, 2:-2] = 0
    else:
        patch[3:6, :] = 1
        patch[:, 3:6] = 1
    return patch


def shapes_dataset(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One bright object at a random position on a noisy dark ground; returns images,
    labels and each object's top-left corner."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 60, (n, SHAPE_SIZE, SHAPE_SIZE, 1)).astype(np.float32)
    labels = rng.integers(0, 3, n)
    corners = rng.integers(0, SHAPE_SIZE - OBJECT + 1, (n, 2))
    for image, kind, (y, x) in zip(images, labels, corners, strict=True):
        patch = draw_shape(int(kind)) * rng.uniform(180, 255)
        region = image[y : y + OBJECT, x : x + OBJECT, 0]
        image[y : y + OBJECT, x : x + OBJECT, 0] = np.maximum(region, patch)
    return images.astype(np.uint8), labels, corners


@pytest.fixture(scope="module")
def shapes_classifier():
    import keras

    conv = {"kernel_size": 3, "padding": "same"}
    spec = ModelSpec(
        (SHAPE_SIZE, SHAPE_SIZE, 1),
        [
            LayerSpec("Conv2D", {"filters": 16, **conv}),
            LayerSpec("MaxPooling2D"),
            LayerSpec("Conv2D", {"filters": 32, **conv}),
            LayerSpec("MaxPooling2D"),
            LayerSpec("Conv2D", {"filters": 32, **conv}),
            LayerSpec("Flatten"),  # like the app's presets: a Flatten + Dense head
        ],
        3,
        name="shapes",
    )
    x, y, _ = shapes_dataset(2000, seed=0)
    model = build_model(spec, seed=0)
    model.compile(keras.optimizers.Adam(3e-3), loss=spec.loss_name(), metrics=["accuracy"])
    model.fit(x / 255.0, y, epochs=5, batch_size=64, verbose=0)
    return models.Classifier(model, "shapes", ["square", "frame", "plus"], spec=spec)


def test_grad_cam_is_highest_over_the_object(shapes_classifier):
    x, y, corners = shapes_dataset(40, seed=1)
    probs = prediction.predict(shapes_classifier.model, x)
    accuracy = float((probs.argmax(axis=1) == y).mean())
    assert accuracy >= 0.9, f"the shapes model is too weak to explain ({accuracy:.0%})"
    hits, ratios = 0, []
    for image, (top, left) in zip(x, corners, strict=True):
        cam, target = explain.grad_cam(shapes_classifier, image)
        assert cam.shape == image.shape[:2]
        assert cam.max() > cam.min()  # not constant
        assert target == int(prediction.predict(shapes_classifier.model, image[None])[0].argmax())
        inside = np.zeros(cam.shape, bool)
        # The last conv layer sees 8×8 cells of 4 pixels: allow one cell around the object.
        inside[max(0, top - 4) : top + OBJECT + 4, max(0, left - 4) : left + OBJECT + 4] = True
        peak = np.unravel_index(cam.argmax(), cam.shape)
        hits += bool(inside[peak])
        ratios.append(cam[inside].mean() / max(cam[~inside].mean(), 1e-6))
    assert hits >= 0.8 * len(x), f"peak over the object in only {hits}/{len(x)} images"
    assert np.median(ratios) > 2


def test_grad_cam_for_a_chosen_class(shapes_classifier):
    x, _, _ = shapes_dataset(1, seed=2)
    _, predicted = explain.grad_cam(shapes_classifier, x[0])
    other = (predicted + 1) % 3
    cam, target = explain.grad_cam(shapes_classifier, x[0], class_index=other)
    assert target == other and cam.shape == (SHAPE_SIZE, SHAPE_SIZE)
    assert cam.min() >= 0 and cam.max() <= 1


def test_grad_cam_needs_a_conv_layer():
    spec = ModelSpec((8, 8, 1), [LayerSpec("Flatten")], 3)
    classifier = models.Classifier(build_model(spec, 0), "dense", list("abc"))
    assert explain.last_conv_layer(classifier) is None
    assert explain.feature_maps(classifier, np.zeros((8, 8, 1), np.uint8)) == {}
    with pytest.raises(ValueError, match="no conv layer"):
        explain.grad_cam(classifier, np.zeros((8, 8, 1), np.uint8))


def test_runs_become_classifiers_and_unusable_runs_are_refused():
    from dashboard.training import Run

    spec = small_spec(3)
    run = Run("r1", spec, "toy", ["cat", "dog", "fox"], status="done", model=build_model(spec, 0))
    classifier = models.from_run(run)
    assert classifier.class_names == ["cat", "dog", "fox"] and classifier.spec is spec
    # The sub-model cache survives a rerun that builds the Classifier again.
    explain.feature_maps(classifier, np.zeros((16, 16, 1), np.uint8))
    assert "features" in models.from_run(run)._cache

    four = small_spec(3, shape=(16, 16, 4))
    bad = Run("r2", four, "toy", ["a", "b", "c"], status="done", model=build_model(four, 0))
    with pytest.raises(ModelFileError, match="expects 4 channels"):
        models.from_run(bad)


def test_a_confident_digit_always_gets_a_map_and_the_fallback_lies_on_its_strokes(mnist_path):
    # Grad-CAM alone was empty for 56 of these 200 digits, most classified at ~100%;
    # where it is, LayerCAM's map must point at the digit, not at the background.
    from scipy.ndimage import binary_dilation

    from dashboard.data.builtins import load_builtin

    classifier, digits = models.load_pretrained(), load_builtin("mnist").x_test[:200]
    methods = []
    for image in digits:
        found = explain.explain_class(classifier, image)
        methods.append(found.method)
        assert found.heatmap.max() == pytest.approx(1.0)  # never an empty map here
        if found.method == "Grad-CAM":
            assert found.why == ""
            continue
        assert "LayerCAM" in found.why
        near_strokes = binary_dilation(image[..., 0] > 0, iterations=2)
        assert (found.heatmap * near_strokes).sum() > 0.6 * found.heatmap.sum()
    assert {"Grad-CAM", "LayerCAM"} == set(methods)
