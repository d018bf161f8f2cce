"""The app's pages, in the order a user walks them. streamlit_app.py and the
home page both read this list, so a page is added in one place."""

from __future__ import annotations

from dataclasses import dataclass


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
        "pages/build.py",
        "Build",
        ":material/construction:",
        "Stack layers and see every output shape, parameter count and cost at once.",
    ),
    PageInfo(
        "pages/classify.py",
        "Classify",
        ":material/image_search:",
        "Ask a trained model about your own images, and see why it answered.",
    ),
)
