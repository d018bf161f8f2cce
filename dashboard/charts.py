"""Plotly figure builders: pure functions of data, so tests check figures as data.

Sections by page; each builder returns a go.Figure and touches no session state.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go

from dashboard.spec import Analysis

# --- build page ---------------------------------------------------------------
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


def network_diagram(analysis: Analysis, input_shape: tuple[int, int, int]) -> go.Figure:
    """The network as a row of boxes, each scaled to its layer's output shape.

    A feature map is a box (height ~ spatial size, thickness ~ channels); a flat
    vector is a thin bar (height ~ its length). Layers that cannot be computed
    are drawn in red, with their error in the hover text.
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
        shape_text = "×".join(map(str, shape)) if shape else "?"
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


# --- data page ----------------------------------------------------------------

# --- training and run comparison -------------------------------------------------

# --- evaluation ---------------------------------------------------------------

# --- convolution explorer ----------------------------------------------------------

# --- classify / model internals ----------------------------------------------------
