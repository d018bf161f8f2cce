"""The Build page in a real Chromium: deep link, add a layer, see the new row."""

from __future__ import annotations

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
    assert page_errors(page) == []
