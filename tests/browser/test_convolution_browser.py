"""The Convolution page in a real Chromium: the sidebar shows what is computed."""

from __future__ import annotations

import re

import pytest
from conftest import page_errors
from PIL import Image
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_pooling_widgets_keep_what_is_computed_across_an_upload(app_url, page, tmp_path):
    photo = tmp_path / "photo.png"
    Image.new("RGB", (60, 40), (200, 120, 40)).save(photo)
    page.goto(app_url)
    page.get_by_test_id("stSidebarNav").get_by_text("Convolution").click()
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Pooling", exact=True).first.wait_for(timeout=120_000)

    # Average pooling, 3×3, stride 1, 'same' padding.
    sidebar.get_by_text("average", exact=True).click()
    for label, value in (("Pool size", "3"), ("Pool stride", "1")):
        box = sidebar.get_by_label(label, exact=True)
        box.fill(value)
        box.press("Tab")
        expect(box).to_have_value(value)
    sidebar.get_by_test_id("stRadio").filter(has_text="Pool padding").get_by_text(
        "same", exact=True
    ).click()
    # 'same' with stride 1 keeps the size: ⌊(H + 2 − 1·(3−1) − 1)/1⌋ + 1 = H.
    same_size = re.compile(r"⌊\((\d+) \+ 2 − 1·\(3−1\) − 1\)/1⌋ \+ 1 = \1\b")
    page.get_by_text(same_size).first.wait_for(timeout=60_000)

    # Upload with no file yet (the page waits), then the file.
    page.get_by_text("Upload", exact=True).first.click()
    page.get_by_text(re.compile("Upload an image")).first.wait_for(timeout=60_000)
    with page.expect_file_chooser() as chooser:
        page.get_by_test_id("stFileUploaderDropzone").get_by_test_id(
            "stBaseButton-secondary"
        ).click()
    chooser.value.set_files(str(photo))
    page.get_by_text(re.compile(r"40×60×\d")).first.wait_for(timeout=60_000)

    # What the widgets show is what the page computes with.
    expect(sidebar.get_by_label("Pool size", exact=True)).to_have_value("3")
    expect(sidebar.get_by_label("Pool stride", exact=True)).to_have_value("1")
    pooling = sidebar.get_by_test_id("stRadio").filter(has_text="Pooling").first
    expect(pooling.get_by_role("radio", name="average")).to_be_checked()
    padding = sidebar.get_by_test_id("stRadio").filter(has_text="Pool padding")
    expect(padding.get_by_role("radio", name="same")).to_be_checked()
    expect(page.get_by_text(same_size).first).to_be_visible()
    assert page_errors(page) == []
