"""Deep links under st.navigation: a patch of one private Streamlit flag.

With a `pages/` folder, Streamlit starts in its legacy mode: until some session has
run streamlit_app.py, a link straight to /build runs the page alone, with the wrong
menu and no page config. `use_navigation()` switches the process to st.navigation
mode once. The flag is private (Streamlit is pinned in requirements.txt);
tests/app/test_navigation.py fails if it changes.
"""

from __future__ import annotations


def use_navigation() -> bool:
    """Leave Streamlit's legacy pages mode; True if it was on (the page must rerun)."""
    from streamlit.runtime.pages_manager import PagesManager

    if not PagesManager.uses_pages_directory:
        return False
    PagesManager.uses_pages_directory = False
    return True
