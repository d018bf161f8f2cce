"""Navigation: every page is listed once, works, and deep links get the app's menu."""

from __future__ import annotations

from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from dashboard.ui.navigation import PAGES

ROOT = Path(__file__).resolve().parents[2]


def test_streamlit_still_has_the_legacy_pages_flag():
    # start_page() flips this private flag; if Streamlit renames it,
    # deep links silently fall back to the legacy menu. Fail loudly instead.
    assert hasattr(PagesManager, "uses_pages_directory")


def test_every_page_file_is_listed_and_guards_navigation():
    listed = {page.path for page in PAGES}
    files = {f"pages/{path.name}" for path in (ROOT / "pages").glob("*.py")}
    assert listed == files
    for path in files:
        assert "start_page()" in (ROOT / path).read_text(), path


def test_home_links_every_other_page():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "CNN Lab"
    links = [el for el in at.main if el.type == "page_link"]
    assert len(links) == len(PAGES) - 1
