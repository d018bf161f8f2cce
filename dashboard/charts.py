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
    are drawn hatched, with their error in the hover text.
    """
    fig = go.Figure()
    entries = [("Input", "input", tuple(input_shape), None)]
    entries += [
        (info.type, info.summary, info.output_shape, info.error) for info in analysis.layers
    ]
    x = 0.0
    for i, (kind, summary, shape, error) in enumerate(entries):
        height, depth = _block_size(shape) if shape else (3.0, 0.6)
        skew = depth * 0.5  # an oblique side gives the feature map its thickness
        color = "#d62728" if error else LAYER_COLORS.get(kind, "#888")
        shape_text = "×".join(map(str, shape)) if shape else "?"
        hover = f"<b>{i}. {kind}</b><br>{summary}<br>output {shape_text}"
        if error:
            hover += f"<br><b>{error}</b>"
        # Front face, then the side face that shows the channel depth.
        front_x = [x, x + depth, x + depth, x, x]
        front_y = [-height / 2, -height / 2, height / 2, height / 2, -height / 2]
        side_x = [x + depth, x + depth + skew, x + depth + skew, x + depth, x + depth]
        side_y = [-height / 2, -height / 2 + skew, height / 2 + skew, height / 2, -height / 2]
        for xs, ys, opacity in ((side_x, side_y, 0.55), (front_x, front_y, 0.9)):
            fig.add_trace(
                go.Scatter(
                    x=xs, y=ys, fill="toself", mode="lines", line={"color": color, "width": 1},
                    fillcolor=color, opacity=opacity, hoverinfo="text", hovertext=hover,
                    fillpattern={"shape": "/"} if error or not shape else None,
                    showlegend=False,
                )
            )  # fmt: skip
        label = "Input" if i == 0 else f"{i}. {kind.replace('Pooling2D', 'Pool')}"
        fig.add_annotation(
            x=x + depth / 2, y=-height / 2 - 0.6, text=f"{label}<br>{shape_text}",
            showarrow=False, font={"size": 10}, yanchor="top", textangle=0,
        )  # fmt: skip
        x += depth + skew + 1.2
    fig.update_layout(
        height=320,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"visible": False},
        yaxis={"visible": False, "scaleanchor": "x"},
        plot_bgcolor="rgba(0,0,0,0)",
        hoverlabel={"align": "left"},
    )
    return fig


# --- data page ----------------------------------------------------------------

# --- training and run comparison -------------------------------------------------

# --- evaluation ---------------------------------------------------------------

# --- convolution explorer ----------------------------------------------------------

# --- classify / model internals ----------------------------------------------------
