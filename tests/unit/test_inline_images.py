"""Pictures travel inside the page: each data URL decodes to the very pixels given."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

from dashboard.data.images import data_url
from dashboard.ui.inline_images import FIGURE_CLASS, captions_in, grid_html


def decoded(url: str) -> np.ndarray:
    header, payload = url.split(",", 1)
    assert header.endswith(";base64")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(payload))))


@pytest.mark.parametrize("shape", [(8, 8), (8, 8, 1), (5, 7, 3)])
def test_a_png_data_url_holds_every_pixel(shape):
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    url = data_url(image)
    assert url.startswith("data:image/png;base64,")
    np.testing.assert_array_equal(decoded(url), image.reshape(shape[:2] + shape[2:]).squeeze())


def test_a_jpeg_data_url_is_a_photo_of_the_same_size():
    image = Image.new("RGBA", (40, 30), (200, 10, 10, 128))
    url = data_url(image, "jpeg")
    assert url.startswith("data:image/jpeg;base64,")
    assert decoded(url).shape == (30, 40, 3)


def test_a_grid_shows_each_picture_with_its_caption_escaped():
    pictures = [np.zeros((4, 6), np.uint8), np.full((4, 6, 3), 255, np.uint8)]
    body = grid_html(pictures, ["#1: 90%", "<script>alert(1)</script> & co"])
    assert body.count(f'class="{FIGURE_CLASS}"') == 2
    assert "<script>" not in body
    assert captions_in(body) == ["#1: 90%", "<script>alert(1)</script> & co"]
    # Natural size: each picture as wide as its pixels, never wider than its column.
    assert re.findall(r"width:(\d+)px;max-width:100%", body) == ["6", "6"]
    assert "width:100%;" in grid_html(pictures[:1], width="stretch")


def test_captions_must_match_the_pictures():
    with pytest.raises(ValueError, match="2 images but 1 captions"):
        grid_html([np.zeros((2, 2), np.uint8)] * 2, ["one"])


def test_every_picture_has_a_frame_so_white_parts_show_on_a_white_page():
    white_left = np.zeros((10, 10), np.uint8)
    white_left[:, :5] = 255  # the "vertical edge" pattern: half of it is page-white
    page = grid_html([white_left, white_left], ["edge", "edge again"])
    assert page.count("border:1px solid") == 2
