"""Clicking a confusion-matrix cell in a real browser shows that cell's test images.

Streamlit reports no selection for Plotly heatmaps, so the chart carries an
invisible marker per cell; this test proves a real click reaches the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, page_errors, start_app_server, stop_app_server
from playwright.sync_api import expect

HARNESS = Path("tests") / "helpers" / "apps" / "evaluate_with_run.py"


@pytest.fixture(scope="module")
def evaluate_url(artifacts_dir: Path) -> Iterator[str]:
    proc, url = start_app_server({"PYTHONPATH": str(ROOT)}, script=HARNESS)
    try:
        yield url
    finally:
        stop_app_server(proc)


def click_cell(page, true_class: int, predicted_class: int) -> None:
    """Click the centre of a cell of the 10-class confusion matrix."""
    chart = page.locator(".js-plotly-plot").first
    point = chart.locator(".scatterlayer .point").nth(true_class * 10 + predicted_class)
    box = point.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


@pytest.mark.browser
@pytest.mark.slow
def test_clicking_a_cell_shows_its_images(page, evaluate_url, artifacts_dir):
    page.goto(evaluate_url)
    page.get_by_text("Confusion matrix").wait_for(timeout=180_000)
    chart = page.locator(".js-plotly-plot").first
    chart.wait_for()
    # Plotly draws the markers after it inserts the chart's div: wait for all 100.
    expect(chart.locator(".scatterlayer .point")).to_have_count(100, timeout=60_000)

    for true_class, predicted_class in [(3, 3), (5, 5), (2, 2), (5, 5)]:
        click_cell(page, true_class, predicted_class)
        heading = page.get_by_text(
            re.compile(
                rf"(\d+) test images of class {true_class} were predicted as {predicted_class}"
            )
        )
        heading.wait_for(timeout=30_000)
        count = int(re.match(r"(\d+)", heading.inner_text()).group(1))
        # The cell's own images are on the page, with its captions (at most 48 shown).
        cell = page.locator("figure.cnnlab-image").first.locator("xpath=..")
        expect(cell.locator("figure")).to_have_count(min(count, 48), timeout=30_000)
    page.screenshot(path=str(artifacts_dir / "evaluate-cell-click.png"), full_page=True)
    # Each click reruns the page; every image it shows has loaded.
    assert page_errors(page) == []
