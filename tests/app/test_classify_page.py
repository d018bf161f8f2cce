"""The Classify page in AppTest: real MNIST digits as PNG files, real trained models."""

from __future__ import annotations

import base64
import io
import json
import tempfile
import uuid
from pathlib import Path

import numpy as np
import pytest
from conftest import shown_image_captions
from PIL import Image
from streamlit.testing.v1 import AppTest

from dashboard.insight import models
from dashboard.model.keras_model import build_model
from dashboard.model.presets import load_preset
from dashboard.model.spec import ModelSpec
from dashboard.training import Run

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "classify.py")


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def keras_file(model) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        return path.read_bytes()


def figures(at: AppTest) -> list[dict]:
    """Every Plotly figure on the page, as the JSON the browser gets."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def array(value) -> np.ndarray:
    """A figure's data array: Plotly sends NumPy arrays as base64 typed arrays."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = value.get("shape")
        if isinstance(shape, str):
            shape = [int(v) for v in shape.split(",")]
        return flat.reshape(shape) if shape else flat
    return np.asarray(value)


def open_page(**state) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


@pytest.fixture(scope="module")
def mnist(mnist_path):
    with np.load(mnist_path) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="module")
def mnist_model(mnist):
    """The default preset trained for 3 epochs on the real MNIST training set (~98.5%)."""
    import keras

    spec = load_preset("default")
    model = build_model(spec, seed=1)
    x = mnist["x_train"][..., None] / 255.0
    steps = 3 * -(-len(x) // 64)
    optimizer = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, steps))
    model.compile(optimizer=optimizer, loss=spec.loss_name(), metrics=["accuracy"])
    model.fit(x, mnist["y_train"], epochs=3, batch_size=64, verbose=0)
    return spec, model


def image_captions(at: AppTest) -> list[str]:
    """Captions under the page's pictures."""
    return [caption for group in shown_image_captions(at) for caption in group]


def jpeg(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).convert("RGB").save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def test_first_visit_works_with_the_pretrained_model():
    at = open_page()
    assert not at.exception
    model_box = at.selectbox[0]
    assert model_box.label == "Model" and model_box.value == "pretrained"
    assert any("98." in caption.value and "28×28×1" in caption.value for caption in at.caption)
    assert [info.value for info in at.info] == ["Upload one or more images to classify."]


@pytest.mark.slow
def test_fifty_mnist_digits_uploaded_with_an_uploaded_model(mnist, mnist_model):
    """25 digits black on white (inverted automatically) and 25 at 3× size, as PNG files,
    classified by a model trained here and uploaded as a .keras file."""
    _, model = mnist_model
    x, y = mnist["x_test"], mnist["y_test"]
    rng = np.random.default_rng(7)
    picks = rng.choice(len(x), 50, replace=False)
    files, truth = [], {}
    for n, i in enumerate(picks):
        if n < 25:
            name, image = f"ink_{i}.png", 255 - x[i]  # black digit on white paper
        else:
            name = f"big_{i}.png"
            image = np.asarray(Image.fromarray(x[i]).resize((84, 84), Image.BICUBIC))
        files.append((name, png(image), "image/png"))
        truth[name] = str(y[i])

    at = open_page()
    at.selectbox[0].set_value("upload").run()
    at.file_uploader(key="model_file").set_value(
        ("mnist.keras", keras_file(model), "application/octet-stream")
    ).run()
    assert not at.error, [e.value for e in at.error]
    at.file_uploader(key="images").set_value(files).run()
    assert not at.exception and not at.error

    table = at.dataframe[0].value
    assert list(table.columns) == ["image", "file", "prediction", "confidence"]
    assert len(table) == 50
    assert table["image"].str.startswith("data:image/png;base64,").all()
    right = (table["prediction"] == table["file"].map(truth)).sum()
    assert right >= 48, f"{right}/50 right"
    # The first image is black on white: the user is told it was inverted.
    assert "inverted to white on black" in image_captions(at)[1]
    assert at.get("download_button")


@pytest.mark.slow
def test_a_run_of_this_session_is_the_default_model(mnist, mnist_model):
    spec, model = mnist_model
    run = Run(
        id=uuid.uuid4().hex[:8],
        spec=spec,
        dataset_name="mnist",
        class_names=[f"digit {d}" for d in range(10)],
        status="done",
        model=model,
    )
    queued = Run(id="waiting1", spec=spec, dataset_name="mnist", class_names=[], status="training")
    at = open_page(runs={queued.id: queued, run.id: run})
    assert at.selectbox[0].value == run.id  # the finished run, not the one still training
    assert not any("waiting1" in option for option in at.selectbox[0].options)
    files = [(f"{i}.png", png(mnist["x_test"][i]), "image/png") for i in range(10)]
    at.file_uploader(key="images").set_value(files).run()
    table = at.dataframe[0].value
    truth = [f"digit {d}" for d in mnist["y_test"][:10]]
    assert (table["prediction"] == truth).sum() >= 9
    assert at.subheader[1].value.startswith(f"Prediction: {table['prediction'][0]} (")


def test_bad_images_each_get_a_message_and_the_others_are_classified(mnist):
    good = [(f"ok{i}.png", png(mnist["x_test"][i]), "image/png") for i in range(2)]
    truncated = png(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8))
    bomb = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(bomb, format="PNG")
    zero = io.BytesIO()
    Image.new("L", (1, 1)).save(zero, format="GIF")
    zero_bytes = bytearray(zero.getvalue())
    zero_bytes[6:10] = bytes(4)  # logical screen 0×0
    image_desc = zero_bytes.index(0x2C)
    zero_bytes[image_desc + 5 : image_desc + 9] = bytes(4)  # image 0×0
    bad = [
        ("notes.png", b"this is text, not a picture", "image/png"),
        ("cut.png", truncated[: len(truncated) // 2], "image/png"),
        ("bomb.png", bomb.getvalue(), "image/png"),
        ("empty.gif", bytes(zero_bytes), "image/gif"),
    ]
    at = open_page()
    at.file_uploader(key="images").set_value([good[0], *bad, good[1]]).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 4
    assert errors[0].startswith("notes.png is not an image")
    assert errors[1].startswith("cut.png is truncated or damaged")
    assert errors[2].startswith("bomb.png is too large") and "decompression bomb" in errors[2]
    assert errors[3].startswith("empty.gif has 0×0 pixels")
    table = at.dataframe[0].value
    assert list(table["file"]) == ["ok0.png", "ok1.png"]
    assert list(table["prediction"]) == [str(mnist["y_test"][0]), str(mnist["y_test"][1])]


def test_bad_model_files_get_a_message_and_nothing_is_lost(mnist):
    import keras

    inputs = keras.Input((12,))
    tabular = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
    good = keras_file(build_model(load_preset("default"), 0))
    corrupt = bytearray(good)
    corrupt[len(corrupt) // 2 : len(corrupt) // 2 + 4000] = bytes(4000)
    at = open_page()
    at.file_uploader(key="images").set_value(
        ("seven.png", png(mnist["x_test"][0]), "image/png")
    ).run()
    at.selectbox[0].set_value("upload").run()
    cases = [
        ("notes.keras", b"not a model at all", "is not a Keras model file"),
        ("broken.keras", bytes(corrupt), "broken.keras"),
        ("tabular.keras", keras_file(tabular), "not an image (height, width, channels)"),
    ]
    for name, data, phrase in cases:
        at.file_uploader(key="model_file").set_value((name, data, "application/octet-stream")).run()
        assert not at.exception
        assert len(at.error) == 1 and phrase in at.error[0].value, at.error[0].value
    # Back to the pretrained model: the uploaded image is still there and classified.
    at.selectbox[0].set_value("pretrained").run()
    assert at.subheader[0].value.startswith(f"Prediction: {mnist['y_test'][0]} (")


def test_what_the_model_sees_gradcam_feature_maps_and_filters(mnist):
    at = open_page()
    at.file_uploader(key="images").set_value(
        ("digit.png", png(mnist["x_test"][1]), "image/png")
    ).run()
    assert not at.exception
    # What the model sees is shown beside the original.
    assert image_captions(at) == [
        "Your image: digit.png",
        "What the model sees: 28×28, grayscale",
    ]
    figs = figures(at)
    topk, cam, maps, filters = figs
    assert topk["data"][0]["type"] == "bar" and len(topk["data"][0]["y"]) == 5
    heat = next(t for t in cam["data"] if t.get("name") == "Grad-CAM")
    assert array(heat["z"]).shape == (28, 28)
    # Feature maps of the first conv layer: 16 maps of 28×28.
    assert len(maps["data"]) == 16 and array(maps["data"][0]["z"]).shape == (28, 28)
    assert len(filters["data"]) == 16 and array(filters["data"][0]["z"]).shape == (3, 3)

    layer_box = next(box for box in at.selectbox if box.label == "Layer")
    assert layer_box.options == [
        "L01_conv2d: 28×28×16",
        "L02_maxpooling2d: 14×14×16",
        "L03_conv2d: 14×14×32",
        "L04_maxpooling2d: 7×7×32",
    ]
    layer_box.set_value("L04_maxpooling2d").run()
    maps = figures(at)[2]
    assert len(maps["data"]) == 32 and array(maps["data"][0]["z"]).shape == (7, 7)

    explain = next(box for box in at.selectbox if box.label == "Explain the class")
    explain.set_value(5).run()
    assert any("evidence for class 5" in c.value for c in at.caption)


def test_inversion_toggle_and_resize_mode(mnist):
    at = open_page()
    ink = 255 - mnist["x_test"][0]
    at.file_uploader(key="images").set_value(("ink.png", png(ink), "image/png")).run()
    assert image_captions(at)[1].endswith("inverted to white on black")
    invert = next(r for r in at.radio if r.label.startswith("White-on-black"))
    invert.set_value("never").run()
    assert "inverted" not in image_captions(at)[1]
    resize = next(box for box in at.selectbox if box.label.startswith("Resize"))
    assert resize.options == ["Fit with padding", "Centre crop", "Stretch"]
    resize.set_value("crop").run()
    assert not at.exception


def test_camera_photo_is_classified(mnist):
    at = open_page()
    at.radio[0].set_value("camera").run()
    at.camera_input[0].set_value(("shot.jpg", jpeg(255 - mnist["x_test"][2]), "image/jpeg")).run()
    assert at.subheader[0].value.startswith(f"Prediction: {mnist['y_test'][2]} (")


def test_draw_mode_waits_for_a_drawing():
    at = open_page()
    at.radio[0].set_value("draw").run()
    assert not at.exception
    # In AppTest the canvas sends no image data: the page asks for a drawing.
    assert [info.value for info in at.info] == ["Draw a digit on the black square."]
    frame = next(box for box in at.checkbox if box.label == "Centre the digit like MNIST")
    assert frame.value is True


def test_uploaded_model_takes_class_names():
    path = models.PRETRAINED_DIR / f"{models.PRETRAINED_NAME}.keras"
    names = "zero, one, two, three, four, five, six, seven, eight, nine"
    at = open_page()
    at.selectbox[0].set_value("upload").run()
    at.file_uploader(key="model_file").set_value(
        ("digits.keras", path.read_bytes(), "application/octet-stream")
    ).run()
    seven = np.zeros((28, 28), np.uint8)
    seven[5:8, 6:22] = 255  # the bar of a 7
    for i in range(8, 24):
        seven[i, 21 - (i - 8) // 2 : 24 - (i - 8) // 2] = 255  # its slanted stroke
    at.file_uploader(key="images").set_value(("seven.png", png(seven), "image/png")).run()
    at.text_input[0].set_value(names).run()
    assert at.subheader[0].value.startswith("Prediction: seven (")
    at.text_input[0].set_value("a, b, c").run()
    assert "You gave 3 names but the model has 10 classes" in at.warning[0].value
    assert at.subheader[0].value.startswith("Prediction: 7 (")


def test_draw_is_offered_as_a_digit_only_for_a_digits_model():
    spec = ModelSpec.from_dict(
        {"name": "shapes3", "input_shape": [16, 16, 3], "num_classes": 3,
         "layers": [{"type": "Conv2D", "filters": 4}, {"type": "Flatten"}]}
    )  # fmt: skip
    run = Run(id="shapes3", spec=spec, dataset_name="shapes", class_names=["a", "b", "c"],
              status="done", model=build_model(spec, 0))  # fmt: skip
    at = open_page(runs={run.id: run})
    sources = next(r for r in at.radio if r.label == "Images")
    assert "Draw a digit" not in sources.options and "Draw" in sources.options
    sources.set_value("draw").run()
    assert [info.value for info in at.info] == ["Draw on the black square."]
    digits = open_page()  # the shipped digits model
    assert "Draw a digit" in next(r for r in digits.radio if r.label == "Images").options
