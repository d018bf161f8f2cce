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
TRAIN_COLOR = "#e4572e"
VAL_COLOR = "#29335c"
RUN_COLORS = ("#e4572e", "#29335c", "#669bbc", "#f3a712", "#a8c686", "#8e5572", "#3e6990")
METRIC_TITLES = {"loss": "Loss", "accuracy": "Accuracy"}


def _metric_axes(fig: go.Figure, metric: str, row: int | None = None, col: int | None = None):
    fig.update_yaxes(title_text=METRIC_TITLES.get(metric, metric), row=row, col=col)
    if metric == "accuracy":
        fig.update_yaxes(tickformat=".0%", row=row, col=col)


def epoch_curves_figure(history: list[dict[str, float]], uirevision: str = "") -> go.Figure:
    """Loss and accuracy per epoch, training against validation, side by side.

    `uirevision` (e.g. the run id) keeps the user's zoom while the chart refreshes.
    """
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss per epoch", "Accuracy per epoch"))
    epochs = [row["epoch"] for row in history]
    for col, metric in enumerate(("loss", "accuracy"), start=1):
        for prefix, name, color in (
            ("", "training", TRAIN_COLOR),
            ("val_", "validation", VAL_COLOR),
        ):
            values = [row.get(prefix + metric) for row in history]
            if not any(v is not None for v in values):
                continue
            fig.add_trace(
                go.Scatter(
                    x=epochs,
                    y=values,
                    name=name,
                    legendgroup=name,
                    showlegend=col == 1,
                    mode="lines+markers",
                    line={"color": color},
                ),
                row=1,
                col=col,
            )
        fig.update_xaxes(title_text="epoch", dtick=1, row=1, col=col)
        _metric_axes(fig, metric, 1, col)
    fig.update_layout(
        height=320, margin={"t": 40, "b": 40, "l": 50, "r": 10}, uirevision=uirevision
    )
    return fig


def _moving_average(values: list[float], window: int) -> list[float]:
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def batch_curve_figure(
    batches: list[dict[str, float]],
    metric: str = "loss",
    uirevision: str = "",
    max_points: int = 3000,
) -> go.Figure:
    """Each training batch's own loss (or accuracy), not Keras' running mean since the
    epoch began (which jumps at every epoch boundary), plus a moving average."""
    if len(batches) > max_points:  # keep the browser fast on long runs
        stride = -(-len(batches) // max_points)
        batches = batches[::stride]
    steps = [b["step"] for b in batches]
    values = [b[metric] for b in batches]
    window = max(1, min(50, len(values) // 10 or 1))
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=steps, y=values, name=f"each batch's {metric}", mode="lines",
                   line={"color": TRAIN_COLOR, "width": 1}, opacity=0.35)
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(x=steps, y=_moving_average(values, window), name=f"average of {window} batches",
                   mode="lines", line={"color": TRAIN_COLOR, "width": 2.5})
    )  # fmt: skip
    fig.update_xaxes(title_text="batch (training step)")
    _metric_axes(fig, metric)
    fig.update_layout(
        title=f"Training {metric} per batch",
        height=300,
        margin={"t": 40, "b": 40, "l": 50, "r": 10},
        legend={"orientation": "h", "y": -0.3},
        uirevision=uirevision,
    )
    return fig


def overlay_figure(series: list[tuple[str, list[dict[str, float]]]], metric: str) -> go.Figure:
    """Several runs' curves on one chart: validation solid, training dotted."""
    fig = go.Figure()
    for i, (label, history) in enumerate(series):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        epochs = [row["epoch"] for row in history]
        for prefix, dash, kind in (("val_", "solid", "validation"), ("", "dot", "training")):
            values = [row.get(prefix + metric) for row in history]
            if any(v is not None for v in values):
                fig.add_trace(
                    go.Scatter(x=epochs, y=values, name=f"{label}: {kind}", mode="lines+markers",
                               line={"color": color, "dash": dash})
                )  # fmt: skip
    fig.update_xaxes(title_text="epoch", dtick=1)
    _metric_axes(fig, metric)
    fig.update_layout(
        title=f"{METRIC_TITLES.get(metric, metric)} per epoch",
        height=360,
        margin={"t": 40, "b": 40, "l": 50, "r": 10},
        uirevision="overlay",
    )
    return fig


# --- evaluation ---------------------------------------------------------------

# --- convolution explorer ----------------------------------------------------------

# --- classify / model internals ----------------------------------------------------
