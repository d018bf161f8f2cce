"""The whole journey in a real Chromium, in one browser session:

home -> build from a preset and add a layer -> train 1 epoch on digits and see the
live chart -> evaluate (confusion matrix) -> convolution (stride changes the shape)
-> classify an uploaded digit PNG. Each page is screenshotted; any error message
on a page or error in the browser console fails the test.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import page_errors
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LONG = 180_000  # ms: the first page that imports TensorFlow takes a while on 2 cores
ROWS = "document.querySelectorAll('[data-testid=stDataFrame] [role=row]').length"


def assert_no_page_errors(page, where: str) -> None:
    shown = page.locator("[data-testid=stAlertContentError], [data-testid=stException]")
    assert shown.count() == 0, f"{where}: {shown.all_inner_texts()}"
    assert page_errors(page) == [], where


def go_to(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()


def choose(page, label: str, option: str, scope=None) -> None:
    """Pick an option of a selectbox (its list opens outside the sidebar).

    A click that lands while the page reruns can close the list again, so retry.
    """
    box = (scope or page).get_by_role("combobox", name=label)
    for _ in range(3):
        box.click(timeout=LONG)
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=10_000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"could not pick {option!r} in {label!r}")


def test_whole_journey(app_url, page, mnist_path: Path, artifacts_dir: Path, tmp_path):
    shots = artifacts_dir / "journey"
    shots.mkdir(exist_ok=True)

    # 1. Home.
    page.goto(app_url)
    page.get_by_role("heading", name="CNN Lab").wait_for(timeout=LONG)
    page.screenshot(path=str(shots / "1-home.png"), full_page=True)
    assert_no_page_errors(page, "home")

    # 2. Build: load a preset, add a layer, see the new row.
    go_to(page, "Build")
    page.get_by_text("Build a CNN").wait_for(timeout=LONG)
    sidebar = page.get_by_test_id("stSidebar")
    choose(page, "Preset", "mnist_cnn", sidebar)
    sidebar.get_by_role("button", name="Load preset").click()
    page.get_by_text("Loaded preset mnist_cnn.").wait_for(timeout=LONG)
    page.wait_for_function(f"{ROWS} === 10", timeout=LONG)  # header, input, 7 layers, output
    choose(page, "Layer type", "Dropout", sidebar)
    sidebar.get_by_role("button", name="Add layer").click()
    page.wait_for_function(f"{ROWS} === 11", timeout=LONG)
    page.screenshot(path=str(shots / "2-build.png"), full_page=True)
    assert_no_page_errors(page, "build")

    # 3. Train 1 epoch on digits and see the live chart.
    go_to(page, "Train")
    start = page.get_by_role("button", name="Start training")
    start.wait_for(timeout=LONG)
    choose(page, "Dataset", "Digits 8×8 (built in)")
    page.get_by_text("1,437 training and 360 test images, 8×8×1").wait_for(timeout=LONG)
    epochs = page.get_by_label("Epochs", exact=True)
    epochs.fill("1")
    epochs.press("Tab")
    start.click()
    heading = page.get_by_text(re.compile(r"Run [0-9a-f]{6}: (queued|training|done)")).first
    heading.wait_for(timeout=LONG)
    run_id = re.search(r"Run ([0-9a-f]{6})", heading.inner_text()).group(1)
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length > 0", timeout=LONG)
    page.get_by_text(f"Run {run_id}: done").wait_for(timeout=LONG)
    page.screenshot(path=str(shots / "3-train.png"), full_page=True)
    assert_no_page_errors(page, "train")

    # 4. Evaluate: the confusion matrix of that run.
    go_to(page, "Evaluate")
    page.get_by_text("Confusion matrix").wait_for(timeout=LONG)
    page.locator(".js-plotly-plot").first.wait_for(timeout=LONG)
    page.screenshot(path=str(shots / "4-evaluate.png"), full_page=True)
    assert_no_page_errors(page, "evaluate")

    # 5. Convolution: stride 2 halves the output shape.
    go_to(page, "Convolution")
    stride = page.get_by_label("Stride (rows)", exact=True)
    stride.wait_for(timeout=LONG)
    conv_block = page.locator(
        "[data-testid=stMarkdownContainer]", has_text=re.compile(r"^Convolution output")
    ).first
    conv_block.wait_for(timeout=LONG)
    before = conv_block.inner_text()  # e.g. "Convolution output 512×512×1"
    assert re.search(r"\d+×\d+", before), before
    stride.fill("2")
    stride.press("Tab")
    expect(conv_block).not_to_have_text(before, timeout=LONG)
    after = conv_block.inner_text()
    assert re.search(r"\d+×\d+", after) and after != before, (before, after)
    page.screenshot(path=str(shots / "5-convolution.png"), full_page=True)
    assert_no_page_errors(page, "convolution")

    # 6. Classify: upload a real MNIST digit as PNG and see a prediction.
    with np.load(mnist_path) as data:
        digit = data["x_test"][0]
    png = tmp_path / "digit.png"
    Image.fromarray(digit).save(png)
    go_to(page, "Classify")
    page.get_by_text("Upload one or more images to classify.").wait_for(timeout=LONG)
    with page.expect_file_chooser() as chooser:
        page.get_by_test_id("stFileUploaderDropzone").get_by_test_id(
            "stBaseButton-secondary"
        ).click()
    chooser.value.set_files(str(png))
    page.get_by_text(re.compile(r"Prediction: \S+ \(")).first.wait_for(timeout=LONG)
    page.screenshot(path=str(shots / "6-classify.png"), full_page=True)
    assert_no_page_errors(page, "classify")
