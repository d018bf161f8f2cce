"""The Convolution page in AppTest: what a user sees when they move the knobs."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import shown_image_captions
from PIL import Image
from streamlit.testing.v1 import AppTest

from dashboard.data.builtins import load_digits
from dashboard.explore import conv_images

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "convolution.py")
LEARNED = "Learned kernels of a run"


def _app() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def _markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def _shapes(at: AppTest) -> dict[str, str]:
    """Panel title -> shown shape, e.g. {'Convolution output': '510×510×1'}."""
    return dict(re.findall(r"\*\*([^*]+)\*\* `([\d×]+)`", _markdown(at)))


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def _min_max(at: AppTest, panel: int) -> tuple[float, float]:
    """The 'min …, max …' caption under picture `panel` (0 input .. 3 pooled)."""
    captions = [c.value for c in at.caption if c.value.startswith("min ")]
    lo, hi = re.match(r"min (\S+), max (\S+)", captions[panel]).groups()
    return float(lo), float(hi)


def test_default_page_shows_all_four_pictures_with_their_shapes_and_formulas():
    at = _app()
    assert _shapes(at) == {
        "Input": "512×512×1",
        "Convolution output": "510×510×1",
        "After ReLU": "510×510×1",
        "Pooled": "255×255×1",
    }
    text = _markdown(at)
    assert "⌊(W + 2P − D·(K−1) − 1)/S⌋ + 1" in text
    assert "**Convolution** height: ⌊(512 + 0 − 1·(3−1) − 1)/1⌋ + 1 = 510" in text
    assert "**Pooling** width: ⌊(510 + 0 − 1·(2−1) − 1)/2⌋ + 1 = 255" in text
    assert len(shown_image_captions(at)) == 4
    assert not _errors(at)


def test_changing_stride_and_padding_changes_shape_and_formula():
    at = _app()
    at.number_input(key="conv_stride_rows").set_value(2).run()
    assert _shapes(at)["Convolution output"] == "255×510×1"
    assert "height: ⌊(512 + 0 − 1·(3−1) − 1)/2⌋ + 1 = 255" in _markdown(at)

    at.radio(key="conv_padding").set_value("same").run()
    assert _shapes(at)["Convolution output"] == "256×512×1"
    # 'same' with stride 2 on 512 rows needs 1 pixel of padding; with stride 1, 2.
    assert "height: ⌊(512 + 1 − 1·(3−1) − 1)/2⌋ + 1 = 256" in _markdown(at)
    assert "width: ⌊(512 + 2 − 1·(3−1) − 1)/1⌋ + 1 = 512" in _markdown(at)
    assert any("0 top, 1 bottom, 1 left, 1 right" in c.value for c in at.caption)

    at.radio(key="conv_padding").set_value("custom").run()
    at.number_input(key="conv_pad_px").set_value(3).run()
    assert _shapes(at)["Convolution output"] == "258×516×1"
    assert "width: ⌊(512 + 6 − 1·(3−1) − 1)/1⌋ + 1 = 516" in _markdown(at)

    at.number_input(key="conv_dilation").set_value(2).run()
    assert "width: ⌊(512 + 6 − 2·(3−1) − 1)/1⌋ + 1 = 514" in _markdown(at)
    # Stride 2 with dilation 2 works here, but the page says Keras' Conv2D would refuse it.
    assert any("refuses a stride above 1" in i.value for i in at.info)


def test_pooling_choices_change_the_pooled_output():
    at = _app()
    at.number_input(key="conv_pool_size").set_value(3).run()
    at.number_input(key="conv_pool_stride").set_value(3).run()
    assert _shapes(at)["Pooled"] == "170×170×1"
    at.radio(key="conv_pool_padding").set_value("same").run()
    assert _shapes(at)["Pooled"] == "170×170×1"
    assert "**Pooling** height: ⌊(510 + 0 − 1·(3−1) − 1)/3⌋ + 1 = 170" in _markdown(at)
    max_hi = _min_max(at, 3)[1]
    at.radio(key="conv_pool").set_value("average").run()
    assert _min_max(at, 3)[1] < max_hi  # a mean is below the window's maximum
    at.radio(key="conv_pool").set_value("none").run()
    assert "Pooled" not in _shapes(at)
    assert any(c.value == "Pooling is off." for c in at.caption)


def test_relu_toggle_shows_negative_values_only_without_relu():
    at = _app()
    assert _min_max(at, 1)[0] < 0  # Sobel x gives negative responses
    assert _min_max(at, 2)[0] == 0
    at.toggle(key="conv_relu").set_value(False).run()
    assert "After ReLU" not in _shapes(at)
    assert _min_max(at, 2)[0] < 0  # the pooled output now keeps negative values


def test_impossible_settings_show_one_clear_message_and_nothing_crashes():
    at = _app()
    at.radio(key="conv_source").set_value("Pattern").run()
    at.slider(key="conv_pattern_size").set_value(5).run()
    at.selectbox(key="conv_kernel").set_value("box blur").run()
    at.select_slider(key="conv_kernel_size_box blur").set_value(5).run()
    at.number_input(key="conv_dilation").set_value(2).run()
    assert not at.exception
    errors = _errors(at)
    assert (
        errors
        and "5×5 kernel (spanning 9 pixels with dilation 2) does not fit the 5×5 input" in errors[0]
    )
    assert "= -3" in errors[0] and "Use 'same' padding" in errors[0]
    assert "Convolution output" not in _shapes(at)
    # The pool can fail on its own too.
    at.number_input(key="conv_dilation").set_value(1).run()
    at.number_input(key="conv_pool_size").set_value(4).run()
    errors = _errors(at)
    assert errors and "4×4 pool window does not fit the 1×1 convolution output" in errors[0]
    assert _shapes(at)["Convolution output"] == "1×1×1"


def test_rgb_modes_keep_or_sum_the_channels():
    at = _app()
    at.radio(key="conv_color").set_value("RGB, each channel on its own").run()
    assert _shapes(at)["Input"] == "512×512×3"
    assert _shapes(at)["Convolution output"] == "510×510×3"
    at.radio(key="conv_color").set_value("RGB, channels summed (as Conv2D)").run()
    assert _shapes(at)["Convolution output"] == "510×510×1"


def test_upload_is_used_kept_and_a_bad_file_says_what_to_do():
    at = _app()
    at.radio(key="conv_source").set_value("Upload").run()
    assert any("Upload an image" in i.value for i in at.info)
    buf = io.BytesIO()
    Image.fromarray(conv_images.load_sample("chelsea")).save(buf, format="PNG")
    at.file_uploader(key="conv_file").set_value(("cat.png", buf.getvalue(), "image/png")).run()
    assert _shapes(at)["Input"] == "300×451×1"
    at.file_uploader(key="conv_file").set_value(("notes.png", b"not an image", "image/png")).run()
    assert _errors(at) == [
        "This file is not an image CNN Lab can read; upload a PNG, JPEG, WebP, BMP or GIF file."
    ]
    # The earlier upload is still there.
    assert _shapes(at)["Input"] == "300×451×1"


def test_dataset_image_is_offered_from_the_current_dataset():
    at = _app()
    at.radio(key="conv_source").set_value("Dataset image").run()
    assert any("pick one on the Data page" in i.value for i in at.info)
    at.session_state["dataset"] = load_digits(8)
    at.run()
    at.number_input(key="conv_dataset_index").set_value(3).run()
    assert _shapes(at)["Input"] == "8×8×1"
    assert any(c.value == "Class: 4" for c in at.caption)  # digits' train image 3 is a 4


def test_step_by_step_shows_window_products_and_sum_for_the_chosen_cell():
    at = _app()
    at.radio(key="conv_source").set_value("Pattern").run()
    at.selectbox(key="conv_pattern").set_value("vertical edge").run()  # 10×10, edge at column 5
    at.radio(key="conv_padding").set_value("same").run()
    at.slider(key="conv_step_cell").set_value(14).run()
    text = _markdown(at)
    # 'same' on 10×10 with a 3×3 kernel: one zero pixel each side, so cell (1, 4) reads
    # rows 0-2 and columns 3-5. Sobel x there: 1 + 2 + 1 (the column of ones at 5) minus nothing.
    assert "Output cell row 1, column 4 reads input rows 0, 1, 2 and columns 3, 4, 5" in text
    assert "Sum of the 9 products = **4**" in text
    titles = [c.proto.spec for c in at.get("plotly_chart")]
    assert any('"Products: sum = 4"' in spec for spec in titles)
    assert any("Input with padding (shaded)" in spec for spec in titles)
    # A corner cell reads the padding.
    at.slider(key="conv_step_cell").set_value(0).run()
    assert "rows -1, 0, 1 and columns -1, 0, 1" in _markdown(at)


def test_play_starts_and_pauses_the_animation():
    at = _app()
    at.radio(key="conv_source").set_value("Pattern").run()
    at.button(key="conv_play").click().run()
    assert at.session_state["conv_playing"] is True
    assert at.button(key="conv_play").label == "Pause"
    # AppTest never fires run_every, so each rerun here is one tick of the animation.
    before = at.session_state["conv_step_cell"]
    at.run()
    assert at.session_state["conv_step_cell"] == before + 1
    at.button(key="conv_play").click().run()
    assert at.session_state["conv_playing"] is False


def test_without_runs_only_library_kernels_are_offered():
    at = _app()
    assert list(at.radio(key="conv_kernel_source").options) == ["Library"]


@pytest.fixture(scope="module")
def trained_run():
    """A tiny real Keras model trained for one epoch on digits, as a finished Run."""
    from dashboard.model.keras_model import build_model
    from dashboard.model.spec import LayerSpec, ModelSpec
    from dashboard.training import Run

    dataset = load_digits(8)
    spec = ModelSpec(
        input_shape=(8, 8, 1),
        layers=[LayerSpec("Conv2D", {"filters": 4, "kernel_size": 3}), LayerSpec("Flatten")],
        num_classes=10,
        name="tiny",
    )
    model = build_model(spec, seed=1)
    model.compile(optimizer="adam", loss=spec.loss_name())
    model.fit(dataset.x_train[:64] / 255.0, dataset.y_train[:64], epochs=1, verbose=0)
    run = Run("r1", spec, dataset.name, dataset.class_names, status="done", model=model)
    return run, dataset


def test_learned_kernels_of_a_trained_run_can_be_used(trained_run):
    import keras

    run, dataset = trained_run
    at = _app()
    at.session_state["runs"] = {run.id: run}
    at.session_state["dataset"] = dataset
    at.run()
    assert LEARNED in at.radio(key="conv_kernel_source").options
    at.radio(key="conv_source").set_value("Dataset image").run()
    at.radio(key="conv_kernel_source").set_value(LEARNED).run()
    at.slider(key="conv_filter").set_value(2).run()
    assert not at.exception and not _errors(at)
    assert any(s.value == "Filter 2 of L01_conv2d" for s in at.subheader)
    assert _shapes(at)["Convolution output"] == "6×6×1"

    # The page's "After ReLU" is what the trained Conv2D layer itself outputs for filter 2.
    first = keras.Model(run.model.inputs, run.model.get_layer("L01_conv2d").output)
    expected = np.asarray(first([dataset.x_train[:1] / 255.0]))[0, :, :, 2]
    lo, hi = _min_max(at, 2)
    assert lo == pytest.approx(expected.min(), abs=2e-3)
    assert hi == pytest.approx(expected.max(), rel=5e-3, abs=1e-3)


def test_page_never_imports_tensorflow():
    # A fresh interpreter: other tests in this process import TensorFlow on purpose.
    script = textwrap.dedent(
        f"""
        import io, sys
        from PIL import Image
        import numpy as np
        from streamlit.testing.v1 import AppTest
        at = AppTest.from_file({PAGE!r}, default_timeout=60)
        at.run()
        for source in ("Pattern", "Dataset image", "Upload", "Sample photo"):
            at.radio(key="conv_source").set_value(source).run()
        at.radio(key="conv_color").set_value("RGB, each channel on its own").run()
        at.radio(key="conv_pool").set_value("average").run()
        assert not at.exception, at.exception
        print("tensorflow" in sys.modules, "keras" in sys.modules)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip().splitlines()[-1] == "False False"
