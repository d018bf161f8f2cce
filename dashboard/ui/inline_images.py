"""Pictures sent inside the page as data URLs instead of through st.image.

st.image stores each picture on the server and the browser fetches it by URL;
Streamlit deletes a script run's pictures when the next run ends, so a click that
reruns the page could delete pictures the browser was still fetching ("Image source
error", an image that never loads). A data URL travels with the page itself, so what
a page shows always loads. Pages render `grid_html(...)` with `st.html`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

import numpy as np
from PIL import Image

from dashboard.data.images import data_url

# The class every shown picture has, for the page's own tests and the browser tests.
FIGURE_CLASS = "cnnlab-image"


def grid_html(
    images: Sequence[np.ndarray | Image.Image],
    captions: Sequence[str] | None = None,
    *,
    width: int | str | None = None,
    image_format: str = "PNG",
    sharp: bool = True,
) -> str:
    """HTML for pictures side by side (wrapping), each with its caption below.

    `width`: each picture's width in CSS pixels, "stretch" for the column's width, or
    None for the picture's own size (never wider than the column). `sharp` keeps whole
    pixels when the browser enlarges a picture (digits, feature maps); photos want False.
    """
    rendering = "image-rendering:pixelated;" if sharp else ""
    captions = list(captions) if captions is not None else [""] * len(images)
    if len(captions) != len(images):
        raise ValueError(f"{len(images)} images but {len(captions)} captions")
    figures = []
    for image, caption in zip(images, captions, strict=True):
        if width == "stretch":
            size = "width:100%;"
        else:
            own = image.width if isinstance(image, Image.Image) else image.shape[1]
            size = f"width:{int(width or own)}px;max-width:100%;"
        text = html.escape(caption)
        figures.append(
            f'<figure class="{FIGURE_CLASS}" style="margin:0;{size}">'
            f'<img src="{data_url(image, image_format)}" alt="{text}" '
            # A thin frame: a white pattern or photo edge stays visible on a white page.
            f'style="width:100%;height:auto;{rendering}display:block;'
            f'box-sizing:border-box;border:1px solid rgba(128,128,128,0.45)">'
            + (
                f'<figcaption style="font-size:0.85rem;opacity:0.7;text-align:center">'
                f"{text}</figcaption>"
                if caption
                else ""
            )
            + "</figure>"
        )
    return '<div style="display:flex;flex-wrap:wrap;gap:0.5rem">' + "".join(figures) + "</div>"


def captions_in(body: str) -> list[str]:
    """The captions of the pictures in `grid_html` output, in order (for tests)."""
    return [html.unescape(c) for c in re.findall(r"<figcaption[^>]*>(.*?)</figcaption>", body)]
