"""Image sources, the small pictures the Convolution page sends to the browser, and what
each of its pictures and its step-by-step view shows."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from dashboard.explore import conv_images, conv_pipeline, kernels
from dashboard.explore.conv_images import ImageError
from dashboard.explore.conv_pipeline import ConvSettings, KernelChoice


def test_samples_load_offline_as_uint8_hwc():
    for name in conv_images.SAMPLES:
        img = conv_images.load_sample(name)
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] in (1, 3)


@pytest.mark.parametrize("name", conv_images.PATTERNS)
def test_patterns_are_small_black_and_white(name):
    img = conv_images.pattern(name, 12)
    assert img.shape == (12, 12, 1)
    assert set(np.unique(img)) == {0, 255}


def test_upload_decodes_real_files_and_shrinks_big_ones():
    big = np.random.default_rng(0).integers(0, 255, (1500, 900, 3), dtype=np.uint8)
    for fmt in ("PNG", "JPEG"):
        buf = io.BytesIO()
        Image.fromarray(big).save(buf, format=fmt)
        img = conv_images.decode_upload(buf.getvalue())
        assert img.shape == (1024, 614, 3)
    buf = io.BytesIO()
    Image.fromarray(big[:20, :30, 0]).save(buf, format="PNG")
    assert conv_images.decode_upload(buf.getvalue()).shape == (20, 30, 1)
    with pytest.raises(ImageError, match="not an image"):
        conv_images.decode_upload(b"%PDF-1.4 not an image")


def test_to_float_converts_channels():
    rgb = conv_images.load_sample("astronaut")
    gray = conv_images.to_float(rgb, 1)
    assert gray.shape == (512, 512, 1) and gray.min() >= 0 and gray.max() <= 1
    expected = np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float32) / 255
    np.testing.assert_allclose(gray[:, :, 0], expected, atol=1 / 255 + 1e-6)
    assert conv_images.to_float(conv_images.pattern("cross"), 3).shape == (12, 12, 3)


def test_colours_show_sign_and_range():
    signed = np.array([[-2.0, 0.0, 2.0]])
    rgb = conv_images.to_colors(signed[:, :, None])
    assert rgb[0, 0].tolist() == [0, 0, 255]  # most negative: blue
    assert rgb[0, 1].tolist() == [255, 255, 255]  # zero: white
    assert rgb[0, 2].tolist() == [255, 0, 0]  # most positive: red
    gray = conv_images.to_colors(np.array([[0.0, 0.5, 1.0]])[:, :, None])
    assert gray.tolist() == [[0, 128, 255]]


def test_display_images_are_small_for_big_maps_and_sharp_for_small_ones():
    big = np.random.default_rng(0).random((512, 700, 3)).astype(np.float32)
    shown = conv_images.display_image(big)
    assert max(shown.shape[:2]) <= conv_images.DISPLAY_SIDE and shown.dtype == np.uint8
    assert conv_images.display_format(big) == "JPEG"
    small = conv_images.pattern("checkerboard", 8).astype(np.float32)
    shown = conv_images.display_image(small)
    assert shown.shape[:2] == (320, 320)
    assert set(np.unique(shown)) == {0, 255}  # nearest-neighbour: no blurred pixels
    assert conv_images.display_format(small) == "PNG"


def test_range_text_is_the_caption_under_a_picture():
    assert conv_images.range_text(np.array([[-1.5, 0.25], [2.0, 1 / 3]])) == "min -1.5, max 2"
    assert conv_images.range_text(np.float32([[0.123456]])) == "min 0.123, max 0.123"


def sobel_on_a_pattern(
    settings: ConvSettings, size: int = 10, name: str = "vertical edge"
) -> list[conv_pipeline.Panel]:
    x = conv_images.to_float(conv_images.pattern(name, size), 1)
    kernel = KernelChoice(kernels.library_kernel("Sobel x"))
    return conv_pipeline.panels(conv_pipeline.run(x, kernel, settings), settings)


def shown(panels: list[conv_pipeline.Panel]) -> dict[str, str]:
    """Panel title -> its shape, or the sentence shown instead of the picture."""
    return {
        p.title: p.empty if p.values is None else conv_images.shape_text(p.values) for p in panels
    }


def test_panels_show_each_stage_or_say_why_not():
    assert shown(sobel_on_a_pattern(ConvSettings())) == {
        "Input": "10×10×1",
        "Convolution output": "8×8×1",
        "After ReLU": "8×8×1",
        "Pooled": "4×4×1",
    }
    assert shown(sobel_on_a_pattern(ConvSettings(relu=False, pool="none"))) == {
        "Input": "10×10×1",
        "Convolution output": "8×8×1",
        "After ReLU": "ReLU is off: the pooling takes the convolution output as it is.",
        "Pooled": "Pooling is off.",
    }
    # A kernel wider than the input: nothing after the input, and the page says so.
    too_wide = shown(sobel_on_a_pattern(ConvSettings(relu=False, dilation=5), size=5))
    assert too_wide == {
        "Input": "5×5×1",
        "Convolution output": "No output: see the message above.",
        "After ReLU": "No output: see the message above.",
        "Pooled": "No output: see the message above.",
    }
    # With ReLU on, an impossible setting never claims "ReLU is off" (issue 23).
    too_wide_relu = shown(sobel_on_a_pattern(ConvSettings(relu=True, dilation=5), size=5))
    assert too_wide_relu["After ReLU"] == "No output: see the message above."


def test_after_relu_has_no_negative_values():
    # A square has a dark-to-light and a light-to-dark edge: Sobel x gives both signs.
    conv, activated = sobel_on_a_pattern(ConvSettings(pool="none"), name="square")[1:3]
    assert conv.values.min() < 0 and activated.values.min() == 0


def test_step_window_in_input_coordinates_counts_padding_as_outside():
    settings = ConvSettings(padding="same")
    image = conv_images.to_float(conv_images.pattern("vertical edge", 10), 1)[:, :, 0]
    sobel = kernels.library_kernel("Sobel x")
    assert conv_pipeline.step_geometry(image.shape, sobel, settings).out_size == (10, 10)
    step = conv_pipeline.step_at(image, sobel, 14, settings)
    assert (step.row, step.col, step.total) == (1, 4, 4.0)
    assert conv_pipeline.window_in_input(step) == ([0, 1, 2], [3, 4, 5])
    corner = conv_pipeline.step_at(image, sobel, 0, settings)
    assert conv_pipeline.window_in_input(corner) == ([-1, 0, 1], [-1, 0, 1])
