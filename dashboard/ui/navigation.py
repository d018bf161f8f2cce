"""The app's pages, in the order a user walks them. streamlit_app.py and the
home page both read this list, so a page is added in one place."""

from __future__ import annotations

import logging
from dataclasses import dataclass

_LOG = logging.getLogger(__name__)

# What a page shows for an error nothing else caught; the traceback goes to the server log.
UNEXPECTED_ERROR = (
    "Something went wrong on this page; your model, runs and uploads are kept. Reload the "
    "page or go back to the step before; if it happens again, tell the workshop host."
)


@dataclass(frozen=True)
class PageInfo:
    path: str
    title: str
    icon: str
    blurb: str


PAGES: tuple[PageInfo, ...] = (
    PageInfo(
        "pages/home.py", "Home", ":material/home:", "What CNN Lab teaches and where to start."
    ),
    PageInfo(
        "pages/data.py",
        "Data",
        ":material/photo_library:",
        "Pick built-in digits or shapes, download MNIST or CIFAR-10, or upload your own image folders.",
    ),
    PageInfo(
        "pages/build.py",
        "Build",
        ":material/construction:",
        "Stack layers and see every output shape, parameter count and cost at once.",
    ),
    PageInfo(
        "pages/train.py",
        "Train",
        ":material/model_training:",
        "Train your model and watch loss and accuracy live; stop at any time, compare runs.",
    ),
    PageInfo(
        "pages/evaluate.py",
        "Evaluate",
        ":material/fact_check:",
        "Test accuracy, the confusion matrix and its images, per-class scores, the most "
        "confident mistakes, and a CNN against a dense-only network.",
    ),
    PageInfo(
        "pages/convolution.py",
        "Convolution",
        ":material/blur_on:",
        "Slide a kernel over a real image: stride, padding, dilation, ReLU and pooling, step by step.",
    ),
    PageInfo(
        "pages/classify.py",
        "Classify",
        ":material/image_search:",
        "Ask a trained model about your own images, and see why it answered.",
    ),
)


def start_page() -> None:
    """What every page does first.

    1. Run under streamlit_app.py's st.navigation, so a deep link gets the app's
       menu and page config (compat.streamlit_pages); rerun once if it was off.
    2. Keep Streamlit's after-run cleanup from stalling training (see
       streamlit_cleanup.py); installing is idempotent and cheap.
    3. Keep this tab's session token in the URL, so a reload finds its runs and
       the rest of its work (tab_session.restore_kept_work).
    """
    import streamlit as st

    from dashboard.compat import streamlit_cleanup, streamlit_pages
    from dashboard.ui import tab_session

    if streamlit_pages.use_navigation():
        st.rerun()
    streamlit_cleanup.install()
    tab_session.session_token()
    tab_session.restore_kept_work()


def run_app() -> None:
    """streamlit_app.py: page config, the menu, and the chosen page, guarded so that no
    traceback ever reaches a page (client.showErrorDetails hides any that gets past)."""
    import streamlit as st

    st.set_page_config(page_title="CNN Lab", page_icon="🧠", layout="wide")
    page = st.navigation(
        [st.Page(p.path, title=p.title, icon=p.icon, default=i == 0) for i, p in enumerate(PAGES)]
    )
    run_guarded(page.run)


def run_guarded(run_page) -> None:
    """Run a page; anything it raises becomes one sentence, the traceback a log entry.
    Streamlit's own rerun and stop signals are BaseExceptions and pass through."""
    import streamlit as st

    try:
        run_page()
    except Exception:
        _LOG.exception("a page failed")
        st.error(UNEXPECTED_ERROR)
