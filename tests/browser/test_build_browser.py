"""The Build page in a real Chromium: deep link, add a layer, see the new row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import page_errors, start_app_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def fresh_server():
    """A server no session has visited yet: the first request is a deep link."""
    proc, url = start_app_server()
    yield url
    proc.terminate()
    proc.wait(timeout=15)


def test_deep_link_build_add_layer_and_screenshot(fresh_server, page, artifacts_dir):
    page.goto(f"{fresh_server}/build")
    page.locator("[data-testid=stMetric]").first.wait_for(timeout=60_000)
    # The app's own menu, not Streamlit's automatic pages/ listing.
    nav = page.locator("[data-testid=stSidebarNav]")
    nav.get_by_text("Build", exact=True).wait_for()
    assert "streamlit app" not in nav.inner_text()

    rows = "n => document.querySelectorAll('[data-testid=stDataFrame] [role=row]').length === n"
    page.wait_for_function(rows, arg=8, timeout=30_000)  # header, input, 5 layers, output
    page.locator("[data-testid=stSidebar]").get_by_role("button", name="Add layer").click()
    page.wait_for_function(rows, arg=9, timeout=30_000)
    # The default new layer is a Conv2D after Flatten: its message shows on the page.
    page.get_by_text("needs a 3-D feature map").first.wait_for()
    page.screenshot(path=str(artifacts_dir / "build.png"), full_page=True)
    # The spec download is made on click and holds the model as it is now.
    with page.expect_download(timeout=30_000) as download:
        page.get_by_role("button", name="Download spec (JSON)").click()
    spec = json.loads(Path(download.value.path()).read_text())
    assert download.value.suggested_filename == "default.json"
    assert [layer["type"] for layer in spec["layers"]][-1] == "Conv2D"  # the added layer
    assert len(spec["layers"]) == 6
    assert page_errors(page) == []


def test_the_layer_edit_buttons_say_what_they_do_at_the_sidebars_width(
    fresh_server, page, artifacts_dir
):
    page.goto(f"{fresh_server}/build")
    sidebar = page.locator("[data-testid=stSidebar]")
    sidebar.get_by_role("button", name="Add layer").wait_for(timeout=60_000)
    for label in ("Up", "Down", "Copy", "Insert", "Delete"):
        button = sidebar.get_by_role("button", name=label, exact=True)
        button.wait_for()
        # The whole label shows: the button is wider than its text needs, nothing clipped.
        fits = button.evaluate(
            "b => [b, ...b.querySelectorAll('*')].every(e => e.scrollWidth <= e.clientWidth + 1)"
            " && b.getBoundingClientRect().width >= 48"
        )
        assert fits, f"the {label} button is clipped"
        assert label in button.inner_text()
    sidebar.get_by_role("button", name="Delete", exact=True).scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts_dir / "build_sidebar.png"))
    sidebar.get_by_role("button", name="Copy", exact=True).click()
    rows = "n => document.querySelectorAll('[data-testid=stDataFrame] [role=row]').length === n"
    page.wait_for_function(rows, arg=9, timeout=30_000)  # the duplicated layer is a new row
