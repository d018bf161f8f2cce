"""Plotly figure builders: pure functions of data, so tests check figures as data.

Sections by page; each builder returns a go.Figure and touches no session state.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

# --- build page ---------------------------------------------------------------

# --- data page ----------------------------------------------------------------

# --- training and run comparison -------------------------------------------------

# --- evaluation ---------------------------------------------------------------

# --- convolution explorer ----------------------------------------------------------

# --- classify / model internals ----------------------------------------------------


def topk_bar(classes: list[tuple[str, float]]) -> go.Figure:
    """Horizontal bars of the top-k classes and their probabilities, best on top."""
    names = [name for name, _ in classes][::-1]
    probs = [p for _, p in classes][::-1]
    fig = go.Figure(
        go.Bar(
            x=probs,
            y=names,
            orientation="h",
            text=[f"{p:.1%}" for p in probs],
            textposition="auto",
            marker_color=[
                "#e4572e" if i == len(probs) - 1 else "#8aa1b1" for i in range(len(probs))
            ],
            hovertemplate="%{y}: %{x:.2%}<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis={"range": [0, 1], "tickformat": ".0%", "title": "probability"},
        yaxis={"type": "category", "title": "class"},
        height=70 + 32 * len(names),
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
    )
    return fig


def _image_trace(image: np.ndarray) -> go.BaseTraceType:
    """An image as a trace: RGB as go.Image, grayscale as a gray heatmap."""
    if image.ndim == 3 and image.shape[2] == 3:
        return go.Image(z=image, hoverinfo="skip")
    gray = image[..., 0] if image.ndim == 3 else image
    return go.Heatmap(
        z=gray, colorscale="gray", zmin=0, zmax=255, showscale=False, hoverinfo="skip"
    )


def gradcam_overlay(image: np.ndarray, cam: np.ndarray, opacity: float = 0.5) -> go.Figure:
    """The Grad-CAM heatmap (0..1, same height × width) laid over the image the model saw."""
    fig = go.Figure(_image_trace(image))
    fig.add_trace(
        go.Heatmap(
            z=cam,
            zmin=0,
            zmax=1,
            colorscale="Jet",
            opacity=opacity,
            colorbar={"title": "weight", "thickness": 12},
            hovertemplate="x %{x}, y %{y}: %{z:.2f}<extra></extra>",
            name="Grad-CAM",
        )
    )
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False)
    fig.update_xaxes(showticklabels=False, constrain="domain")
    fig.update_layout(height=360, margin={"l": 0, "r": 0, "t": 10, "b": 0})
    return fig


def _square_pixels(fig: go.Figure, n: int) -> None:
    """Square pixels, row 0 on top and no ticks in each of n subplots."""
    fig.update_yaxes(autorange="reversed", showticklabels=False, ticks="")
    fig.update_xaxes(showticklabels=False, ticks="", constrain="domain")
    for i in range(1, n + 1):
        suffix = str(i) if i > 1 else ""
        fig.layout[f"yaxis{suffix}"].scaleanchor = f"x{suffix}"
        fig.layout[f"yaxis{suffix}"].constrain = "domain"


def _normalize_each(stack: np.ndarray) -> np.ndarray:
    """Scale each map of (H, W, N) to 0..1 on its own, so weak maps stay visible."""
    low = stack.min(axis=(0, 1), keepdims=True)
    span = stack.max(axis=(0, 1), keepdims=True) - low
    return np.where(span > 0, (stack - low) / np.where(span > 0, span, 1), 0.0)


def image_grid(
    stack: np.ndarray, titles: list[str], columns: int = 8, colorscale: str = "gray"
) -> go.Figure:
    """Small images (H, W, N) in a grid, each scaled to its own 0..1 range."""
    n = stack.shape[2]
    rows = max(1, math.ceil(n / columns))
    cols = min(columns, n)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=titles,
        horizontal_spacing=0.01,
        vertical_spacing=0.3 / rows,
    )
    normalized = _normalize_each(stack.astype(np.float32))
    for i in range(n):
        fig.add_trace(
            go.Heatmap(
                z=normalized[:, :, i],
                zmin=0,
                zmax=1,
                colorscale=colorscale,
                showscale=False,
                hovertemplate=f"{titles[i]}<br>x %{{x}}, y %{{y}}<extra></extra>",
            ),
            row=i // cols + 1,
            col=i % cols + 1,
        )
    _square_pixels(fig, n)
    fig.update_annotations(font_size=10)
    fig.update_layout(height=40 + rows * 110, margin={"l": 0, "r": 0, "t": 30, "b": 0})
    return fig


def feature_map_grid(maps: np.ndarray, max_maps: int = 64, columns: int = 8) -> go.Figure:
    """A layer's feature maps (H, W, C) for one image, one small heatmap per channel."""
    shown = maps[:, :, :max_maps]
    titles = [f"#{i}" for i in range(shown.shape[2])]
    return image_grid(shown, titles, columns=columns, colorscale="Viridis")


def filter_grid(kernels: np.ndarray, max_filters: int = 64, columns: int = 8) -> go.Figure:
    """First-layer kernels (kh, kw, in_channels, filters): RGB kernels as colour images,
    others as the mean over input channels in a diverging scale (red +, blue −)."""
    n = min(kernels.shape[3], max_filters)
    titles = [f"filter {i}" for i in range(n)]
    if kernels.shape[2] == 3:
        rows = max(1, math.ceil(n / columns))
        cols = min(columns, n)
        fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.01)
        for i in range(n):
            k = kernels[:, :, :, i]
            span = float(k.max() - k.min()) or 1.0
            rgb = np.round((k - k.min()) / span * 255).astype(np.uint8)
            fig.add_trace(go.Image(z=rgb, hoverinfo="skip"), row=i // cols + 1, col=i % cols + 1)
        fig.update_xaxes(showticklabels=False)
        fig.update_yaxes(showticklabels=False)
        fig.update_annotations(font_size=10)
        fig.update_layout(height=40 + rows * 110, margin={"l": 0, "r": 0, "t": 30, "b": 0})
        return fig
    mean = kernels[:, :, :, :n].mean(axis=2)
    limit = float(np.abs(mean).max()) or 1.0
    rows = max(1, math.ceil(n / columns))
    cols = min(columns, n)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.01)
    for i in range(n):
        fig.add_trace(
            go.Heatmap(
                z=mean[:, :, i],
                zmin=-limit,
                zmax=limit,
                colorscale="RdBu_r",
                showscale=i == 0,
                hovertemplate="row %{y}, col %{x}: %{z:.3f}<extra></extra>",
            ),
            row=i // cols + 1,
            col=i % cols + 1,
        )
    _square_pixels(fig, n)
    fig.update_annotations(font_size=10)
    fig.update_layout(height=40 + rows * 110, margin={"l": 0, "r": 0, "t": 30, "b": 0})
    return fig
