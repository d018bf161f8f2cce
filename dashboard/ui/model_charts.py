"""Plotly figures of a model: the Build page's network diagram and the data it is fed,
and on Classify the top classes, Grad-CAM, feature maps and learned filters."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.model.analysis import Analysis
from dashboard.model.spec import shape_text as spec_shape_text

LAYER_COLORS = {
    "Input": "#9aa5b1",
    "Conv2D": "#e4572e",
    "MaxPooling2D": "#29335c",
    "AveragePooling2D": "#3e6990",
    "BatchNormalization": "#a8c686",
    "Dropout": "#c3c3c3",
    "Flatten": "#f3a712",
    "GlobalAveragePooling2D": "#f3a712",
    "Dense": "#669bbc",
}


def _block_size(shape: tuple[int, ...]) -> tuple[float, float]:
    """(height, depth) of a layer's block: height grows with the spatial size,
    depth with the channel count, both on a log scale so LeNet and VGG both fit."""
    if len(shape) == 3:
        return 1 + 2.2 * math.log2(max(shape[0], 1) + 1), 0.4 + 0.55 * math.log2(shape[2] + 1)
    return 1 + 1.6 * math.log2(shape[0] + 1), 0.6


def network_figure(analysis: Analysis, input_shape: tuple[int, int, int]) -> go.Figure:
    """The network as a row of boxes, each scaled to its layer's output shape.

    A feature map is a box (height ~ spatial size, thickness ~ channels); a flat
    vector is a thin bar (height ~ its length). Layers that cannot be computed
    are drawn in red, with their error in the hover text.

    Long because Plotly's traces and layout are declared inline, one setting per line.
    """
    entries = [("Input", "input", tuple(input_shape), None)]
    entries += [
        (info.type, info.summary, info.output_shape, info.error) for info in analysis.layers
    ]
    # One trace per (colour, face) with polygons separated by None: a figure of a
    # few traces renders and serializes far faster than one trace per box.
    faces: dict[tuple[str, float], dict[str, list]] = {}
    annotations = []
    x = 0.0
    for i, (kind, summary, shape, error) in enumerate(entries):
        height, depth = _block_size(shape) if shape else (3.0, 0.6)
        skew = depth * 0.5  # an oblique side gives the feature map its thickness
        color = "#d62728" if error else LAYER_COLORS.get(kind, "#888")
        shape_text = spec_shape_text(shape) if shape else "?"
        hover = f"<b>{i}. {kind}</b><br>{summary}<br>output {shape_text}"
        if error:
            hover += f"<br><b>{error}</b>"
        low, high = -height / 2, height / 2
        front = ([x, x + depth, x + depth, x, x], [low, low, high, high, low])
        right = x + depth
        side = (
            [right, right + skew, right + skew, right, right],
            [low, low + skew, high + skew, high, low],
        )
        for (xs, ys), opacity in ((side, 0.55), (front, 0.9)):
            trace = faces.setdefault((color, opacity), {"x": [], "y": [], "text": []})
            trace["x"] += [*xs, None]
            trace["y"] += [*ys, None]
            trace["text"] += [hover] * 5 + [None]
        label = "Input" if i == 0 else f"{i}. {kind.replace('Pooling2D', 'Pool')}"
        annotations.append(
            {
                "x": x + depth / 2, "y": low - 0.6, "text": f"{label}<br>{shape_text}",
                "showarrow": False, "font": {"size": 10}, "yanchor": "top",
            }
        )  # fmt: skip
        x += depth + skew + 1.2
    traces = [
        go.Scatter(
            x=face["x"], y=face["y"], fill="toself", mode="lines", fillcolor=color,
            line={"color": color, "width": 1}, opacity=opacity, hoverinfo="text",
            hovertext=face["text"], showlegend=False,
        )
        for (color, opacity), face in faces.items()
    ]  # fmt: skip
    layout = go.Layout(
        height=320,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"visible": False},
        yaxis={"visible": False, "scaleanchor": "x"},
        plot_bgcolor="rgba(0,0,0,0)",
        hoverlabel={"align": "left"},
        annotations=annotations,
    )
    return go.Figure(data=traces, layout=layout)


def class_counts_figure(
    class_names: list[str], train_counts: list[int], test_counts: list[int]
) -> go.Figure:
    """Stacked bars: images per class, train and test."""
    fig = go.Figure(
        [
            go.Bar(name="train", x=class_names, y=list(train_counts), marker_color="#4c78a8"),
            go.Bar(name="test", x=class_names, y=list(test_counts), marker_color="#f58518"),
        ]
    )
    fig.update_layout(
        barmode="stack",
        xaxis_title="class",
        yaxis_title="images",
        xaxis_type="category",  # class names like "0".."9" are labels, not numbers
        legend_orientation="h",
        legend_y=1.12,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=320,
    )
    return fig


def topk_figure(classes: list[tuple[str, float]]) -> go.Figure:
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


def gradcam_figure(image: np.ndarray, cam: np.ndarray, opacity: float = 0.5) -> go.Figure:
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


def _finish_grid(fig: go.Figure, n: int, rows: int) -> go.Figure:
    """The common look of a grid of n small maps in `rows` rows: square pixels, small
    titles, a height that grows with the rows."""
    _square_pixels(fig, n)
    fig.update_annotations(font_size=10)
    fig.update_layout(height=40 + rows * 110, margin={"l": 0, "r": 0, "t": 30, "b": 0})
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


def image_grid_figure(
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
    return _finish_grid(fig, n, rows)


def feature_maps_figure(maps: np.ndarray, max_maps: int = 64, columns: int = 8) -> go.Figure:
    """A layer's feature maps (H, W, C) for one image, one small heatmap per channel."""
    shown = maps[:, :, :max_maps]
    titles = [f"#{i}" for i in range(shown.shape[2])]
    return image_grid_figure(shown, titles, columns=columns, colorscale="Viridis")


def filters_figure(kernels: np.ndarray, max_filters: int = 64, columns: int = 8) -> go.Figure:
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
    return _finish_grid(fig, n, rows)
