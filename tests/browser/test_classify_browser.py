"""The Classify page in a real Chromium: upload through the file chooser, draw on the canvas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import page_errors
from PIL import Image
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_upload_a_png_and_draw_a_digit(app_url, page, mnist_path, artifacts_dir: Path, tmp_path):
    with np.load(mnist_path) as data:
        digit, label = data["x_test"][0], int(data["y_test"][0])
    path = tmp_path / "digit.png"
    # Black on white, as a user would scan it: the page inverts it for the model.
    Image.fromarray(255 - digit).resize((84, 84)).save(path)

    # Open the app and follow the navigation (a deep link to /classify makes Streamlit's
    # frontend probe /classify/_stcore/health first, a 404 in the console).
    page.goto(app_url)
    page.get_by_test_id("stSidebarNav").get_by_text("Classify").click()
    page.get_by_text("Upload one or more images to classify.").wait_for(timeout=120_000)
    with page.expect_file_chooser() as chooser:
        page.get_by_test_id("stFileUploaderDropzone").get_by_test_id(
            "stBaseButton-secondary"
        ).click()
    chooser.value.set_files(str(path))
    page.get_by_text(f"Prediction: {label} (").wait_for(timeout=60_000)
    page.get_by_text("What the model sees: 28×28, grayscale, inverted").wait_for()
    page.screenshot(path=str(artifacts_dir / "classify-upload.png"), full_page=True)

    page.get_by_text("Draw a digit", exact=True).click()
    canvas = page.locator("canvas.upper-canvas")
    canvas.wait_for(timeout=30_000)
    box = canvas.bounding_box()
    assert box is not None
    # A vertical stroke down the middle: a "1".
    x = box["x"] + box["width"] / 2
    page.mouse.move(x, box["y"] + box["height"] * 0.15)
    page.mouse.down()
    for step in range(1, 21):
        page.mouse.move(x, box["y"] + box["height"] * (0.15 + 0.7 * step / 20))
    page.mouse.up()
    page.get_by_text("Prediction: 1 (").wait_for(timeout=60_000)
    # On hover the canvas' toolbar (undo, redo, clear) floats above it, clear of its hint.
    page.mouse.move(x, box["y"] + box["height"] / 2)
    toolbar = page.locator(".dc-toolbar-card")
    expect(toolbar).to_be_visible()
    page.wait_for_timeout(500)  # its slide-in animation
    bar = toolbar.bounding_box()
    hint = page.get_by_text("Draw with the mouse; the model answers").bounding_box()
    assert bar["y"] >= hint["y"] + hint["height"], (bar, hint)
    assert bar["y"] + bar["height"] <= box["y"], (bar, box)  # and off the drawing
    page.screenshot(path=str(artifacts_dir / "classify-draw.png"), full_page=True)
    assert page_errors(page) == []
