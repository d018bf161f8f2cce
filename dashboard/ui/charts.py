"""Plotly figure builders: pure functions of data, so tests check figures as data.

Sections by page; each builder returns a go.Figure and touches no session state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.model.analysis import Analysis
from dashboard.model.spec import shape_text as spec_shape_text

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


# --- data page ----------------------------------------------------------------


def class_counts_chart(
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
    The Train page draws it on every full run (each widget change) while the run it
    shows stays the same, so figures are memoized by their content (building one
    takes ~25 ms of the GIL, which a training thread may need).
    """
    rows = tuple(tuple(sorted(row.items())) for row in history)
    return _epoch_curves_figure(rows, uirevision)


@lru_cache(maxsize=64)
def _epoch_curves_figure(rows: tuple[tuple[tuple[str, float], ...], ...], uirevision: str):
    history = [dict(row) for row in rows]
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


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of each value and up to `window - 1` before it."""
    sums = np.cumsum(values, dtype=float)
    out = sums.copy()
    out[window:] = sums[window:] - sums[:-window]
    return out / np.minimum(np.arange(1, len(values) + 1), window)


@dataclass(frozen=True)
class BatchSeries:
    """Each batch's own value of one metric and its moving average, thinned to about
    max_points; what both per-batch curves draw."""

    metric: str
    steps: np.ndarray
    values: np.ndarray
    average: np.ndarray
    window: int


class BatchColumns:
    """The steps and one metric of a run's batches as NumPy arrays, each batch
    converted once.

    The live per-batch curve is redrawn every second. Converting all the batches each
    time held the server's GIL ~21 ms per second at 84,400 batches (200 MNIST epochs),
    time taken from training; kept between redraws, only the new batches are converted.
    """

    def __init__(self, metric: str) -> None:
        self.metric = metric
        self.steps = np.empty(0)
        self.values = np.empty(0)
        self._last: dict[str, float] | None = None  # the last batch converted

    def update(self, batches: list[dict[str, float]]) -> None:
        """Catch up with `batches`, the same run's list with more batches at its end."""
        done = len(self.steps)
        if done and (len(batches) < done or batches[done - 1] is not self._last):
            # Another list: e.g. a run that mirrored another and then trained anew.
            done, self.steps, self.values = 0, self.steps[:0], self.values[:0]
        new = batches[done:]
        if not new:
            return
        self.steps = np.concatenate([self.steps, _column(new, "step")])
        self.values = np.concatenate([self.values, _column(new, self.metric)])
        self._last = new[-1]


def _column(batches: list[dict[str, float]], name: str) -> np.ndarray:
    return np.fromiter(map(itemgetter(name), batches), dtype=float, count=len(batches))


def batch_series(
    batches: list[dict[str, float]],
    metric: str = "loss",
    max_points: int = 3000,
    columns: BatchColumns | None = None,
) -> BatchSeries:
    """Each training batch's own loss (or accuracy), not Keras' running mean since the
    epoch began (which jumps at every epoch boundary), plus a moving average.

    `columns`, kept by a chart that is redrawn as the run goes, saves converting the
    batches it has seen before. The average is taken over every batch before long runs
    are thinned, so its window counts batches, not drawn points."""
    if columns is None:
        columns = BatchColumns(metric)
    elif columns.metric != metric:
        raise ValueError(f"columns hold {columns.metric!r}, not {metric!r}")
    columns.update(batches)
    steps, values = columns.steps, columns.values
    window = max(1, min(50, len(values) // 10 or 1))
    average = _moving_average(values, window)
    # Long runs are thinned to keep the browser fast, always keeping the latest batch.
    keep = np.arange(0, len(values), max(1, -(-len(values) // max_points)))
    if len(values) and keep[-1] != len(values) - 1:
        keep = np.append(keep, len(values) - 1)
    return BatchSeries(metric, steps[keep], values[keep], average[keep], window)


def batch_curve_figure(
    batches: list[dict[str, float]],
    metric: str = "loss",
    uirevision: str = "",
    max_points: int = 3000,
) -> go.Figure:
    """The per-batch curve of batch_series as an interactive Plotly chart.

    Built in one go from NumPy arrays (~2 ms, sent to the browser as binary) instead
    of by update calls (~16 ms).
    """
    series = batch_series(batches, metric, max_points)
    y_axis: dict[str, Any] = {"title": {"text": METRIC_TITLES.get(metric, metric)}}
    if metric == "accuracy":
        y_axis["tickformat"] = ".0%"
    return go.Figure(
        data=[
            go.Scatter(x=series.steps, y=series.values, name=f"each batch's {metric}",
                       mode="lines", line={"color": TRAIN_COLOR, "width": 1}, opacity=0.35),
            go.Scatter(x=series.steps, y=series.average,
                       name=f"average of {series.window} batches", mode="lines",
                       line={"color": TRAIN_COLOR, "width": 2.5}),
        ],
        layout={
            "title": {"text": f"Training {metric} per batch"},
            "xaxis": {"title": {"text": "batch (training step)"}},
            "yaxis": y_axis,
            "height": 300,
            "margin": {"t": 40, "b": 40, "l": 50, "r": 10},
            "legend": {"orientation": "h", "y": -0.3},
            "uirevision": uirevision,
        },
    )  # fmt: skip


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
CONFUSION_CLICK_TRACE = 1  # the invisible per-cell markers a click selects
CNN_COLOR, DENSE_COLOR = "#1f77b4", "#ff7f0e"


def confusion_matrix_chart(
    confusion: np.ndarray, class_names: list[str], highlight: tuple[int, int] | None = None
) -> go.Figure:
    """Confusion matrix heatmap with the count in every cell; rows true, columns predicted.

    Plotly heatmaps report no click selection in Streamlit, so an invisible
    square marker sits on every cell (trace CONFUSION_CLICK_TRACE, row-major,
    customdata [true, predicted, count]); clicking a cell selects its marker.
    `highlight` (true, predicted) outlines the cell being shown, wherever the
    choice came from. The colour scale saturates at twice the largest mistake
    count: else the diagonal's hundreds wash every mistake out.
    """
    k = len(class_names)
    labels = [str(name) for name in class_names]
    off_diagonal = confusion[~np.eye(k, dtype=bool)]
    cap = max(1, 2 * int(off_diagonal.max()) if off_diagonal.size else 1)
    fig = px.imshow(
        confusion,
        x=labels,
        y=labels,
        text_auto=True,
        zmin=0,
        zmax=cap,
        color_continuous_scale="Blues",
        labels={"x": "Predicted class", "y": "True class", "color": "Images"},
        aspect="equal",
    )
    fig.update_traces(hoverinfo="skip", hovertemplate=None)
    true_idx, pred_idx = np.divmod(np.arange(k * k), k)
    fig.add_trace(
        go.Scatter(
            x=[labels[p] for p in pred_idx],
            y=[labels[t] for t in true_idx],
            mode="markers",
            customdata=np.stack([true_idx, pred_idx, confusion.reshape(-1)], axis=1),
            # Invisible in every state: the outline below marks the shown cell instead.
            marker={"symbol": "square", "size": max(8, min(40, 420 // k)), "opacity": 0},
            selected={"marker": {"opacity": 0}},
            unselected={"marker": {"opacity": 0}},
            hovertemplate="true %{y}, predicted %{x}: %{customdata[2]} images<extra></extra>",
            showlegend=False,
        )
    )
    if highlight is not None:
        # Category axes place class i at position i, so a cell spans i ± 0.5.
        true_class, predicted_class = highlight
        fig.add_shape(
            type="rect",
            x0=predicted_class - 0.5,
            x1=predicted_class + 0.5,
            y0=true_class - 0.5,
            y1=true_class + 0.5,
            line={"color": "#d62728", "width": 3},
        )
    fig.update_xaxes(type="category", side="top")
    fig.update_yaxes(type="category")
    fig.update_layout(
        coloraxis_colorbar={"title": {"text": f"Images<br>(≥{cap} darkest)"}},
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        height=max(360, min(640, 48 * k + 120)),
    )
    return fig


def confusion_cell_from_selection(selection: Any, num_classes: int) -> tuple[int, int] | None:
    """(true, predicted) of the cell a confusion_matrix_chart selection picked, if any."""
    points = (selection or {}).get("points", []) if isinstance(selection, dict) else []
    for point in points:
        if point.get("curve_number") != CONFUSION_CLICK_TRACE:
            continue
        index = point.get("point_index", point.get("point_number"))
        if isinstance(index, int) and 0 <= index < num_classes * num_classes:
            true_class, predicted_class = divmod(index, num_classes)
            return true_class, predicted_class
    return None


def class_scores_chart(scores: pd.DataFrame) -> go.Figure:
    """Grouped bars of precision, recall and F1 per class (columns of per_class_scores)."""
    long = scores.melt(id_vars="class", value_vars=["precision", "recall", "F1"], var_name="score")
    long["class"] = long["class"].astype(str)
    fig = px.bar(long, x="class", y="value", color="score", barmode="group")
    fig.update_xaxes(type="category", title="Class")
    fig.update_yaxes(range=[0, 1.02], title="Score", tickformat=".0%")
    fig.update_layout(legend_title_text="", margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fig


def cnn_vs_dense_chart(
    class_names: list[str],
    cnn_recall: np.ndarray,
    dense_recall: np.ndarray,
    cnn_label: str,
    dense_label: str,
) -> go.Figure:
    """Per-class recall (share of each class recognized) of a CNN beside the dense-only baseline."""
    labels = [str(name) for name in class_names]
    fig = go.Figure(
        [
            go.Bar(x=labels, y=cnn_recall, name=cnn_label, marker_color=CNN_COLOR),
            go.Bar(x=labels, y=dense_recall, name=dense_label, marker_color=DENSE_COLOR),
        ]
    )
    fig.update_xaxes(type="category", title="Class")
    fig.update_yaxes(range=[0, 1.02], title="Recognized (recall)", tickformat=".0%")
    fig.update_layout(
        barmode="group",
        legend={"orientation": "h", "y": -0.25},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
    )
    return fig


# --- convolution explorer ----------------------------------------------------------
# Step-by-step pictures for one output cell (see conv_ops.Step). Cells are small (≤ 16×16
# input plus padding), so every value is written in its cell.

WINDOW_COLOR = "#ff7f0e"
PAD_FILL = "rgba(120, 120, 120, 0.45)"
INPUT_LINE = "#1f77b4"


def _rect_path(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"M{x0},{y0} L{x1},{y0} L{x1},{y1} L{x0},{y1} Z"


def _grid_heatmap(
    values: np.ndarray,
    text: np.ndarray,
    colorscale: str,
    zmid: float | None = None,
    title: str = "",
    x0: int = 0,
    y0: int = 0,
    shapes: list[dict[str, Any]] | None = None,
) -> go.Figure:
    """A heatmap with a value written in each cell, row 0 at the top.

    Built in one constructor call, with outlines as a few SVG paths rather than one
    shape per cell: Plotly validates every object, and this keeps a figure at a few ms.
    """
    h, w = values.shape
    heatmap = go.Heatmap(
        z=values, x=np.arange(w) + x0, y=np.arange(h) + y0, text=text,
        texttemplate="%{text}", colorscale=colorscale, zmid=zmid, showscale=False,
        xgap=1, ygap=1, hovertemplate="row %{y}, column %{x}: %{z:.3f}<extra></extra>",
    )  # fmt: skip
    layout = {
        "title": {"text": title},
        "margin": {"l": 10, "r": 10, "t": 60, "b": 10},
        "height": max(280, 30 * h + 100),
        "yaxis": {"autorange": "reversed", "scaleanchor": "x", "constrain": "domain", "dtick": 1},
        "xaxis": {"constrain": "domain", "dtick": 1, "side": "top"},
        "shapes": shapes or [],
    }
    return go.Figure(data=[heatmap], layout=layout)


def _numbers(values: np.ndarray, fmt: str = ".2g") -> np.ndarray:
    values = np.where(values == 0, 0.0, values)  # no "-0" in the cells
    return np.array(
        [["" if np.isnan(v) else format(v, fmt) for v in row] for row in values.astype(float)]
    )


def step_input_figure(step: Any) -> go.Figure:
    """The padded input with the padding shaded and the kernel's window outlined.

    Axes count rows/columns of the original input, so padding has negative or
    past-the-end coordinates.
    """
    (top, bottom), (left, right) = step.geometry.pads
    hp, wp = step.padded.shape
    h, w = hp - top - bottom, wp - left - right
    outer = _rect_path(-left - 0.5, -top - 0.5, w + right - 0.5, h + bottom - 0.5)
    inner = _rect_path(-0.5, -0.5, w - 0.5, h - 0.5)
    window = " ".join(
        _rect_path(c - left - 0.5, r - top - 0.5, c - left + 0.5, r - top + 0.5)
        for r in step.rows
        for c in step.cols
    )
    shapes = [
        # The padding ring: outer rectangle minus the input (even-odd fill).
        {"type": "path", "path": f"{outer} {inner}", "fillcolor": PAD_FILL, "fillrule": "evenodd",
         "line": {"width": 0}, "name": "padding"},
        {"type": "path", "path": inner, "line": {"color": INPUT_LINE, "width": 2}, "name": "input"},
        {"type": "path", "path": window, "line": {"color": WINDOW_COLOR, "width": 3},
         "name": "window"},
    ]  # fmt: skip
    title = "Input with padding (shaded)" if top + bottom + left + right else "Input (no padding)"
    # One decimal keeps 20 columns readable; hover shows the exact value.
    return _grid_heatmap(step.padded, _numbers(step.padded, ".1f"), "Greys_r", title=title,
                         x0=-left, y0=-top, shapes=shapes)  # fmt: skip


def step_products_figure(step: Any) -> go.Figure:
    """Each input value under the kernel times its weight, and the product."""
    # Up to 3×3 each cell shows value × weight and the product; larger kernels just the product.
    small = step.kernel.size <= 9
    text = np.array(
        [
            [f"{v:.2g}×{k:.2g}<br><b>{p:.2g}</b>" if small else f"{p:.2g}"
             for v, k, p in zip(*rows, strict=True)]
            for rows in zip(step.window, step.kernel, step.products + 0.0, strict=True)
        ]
    )  # fmt: skip
    return _grid_heatmap(step.products, text, "RdBu_r", zmid=0.0,
                         title=f"Products: sum = {step.total:.4g}")  # fmt: skip


def step_output_figure(step: Any) -> go.Figure:
    """The output filled in up to the current cell, which is outlined."""
    filled = np.full(step.output.shape, np.nan)
    flat = filled.reshape(-1)
    flat[: step.index + 1] = step.output.reshape(-1)[: step.index + 1]
    cell = {"type": "path", "name": "current cell", "line": {"color": WINDOW_COLOR, "width": 3},
            "path": _rect_path(step.col - 0.5, step.row - 0.5, step.col + 0.5, step.row + 0.5)}  # fmt: skip
    # Keep the colour scale of the whole output, so a cell's colour does not change as it fills.
    bound = float(np.abs(step.output).max()) or 1.0
    fig = _grid_heatmap(filled, _numbers(filled), "RdBu_r", zmid=0.0,
                        title=f"Output {step.output.shape[0]}×{step.output.shape[1]}",
                        shapes=[cell])  # fmt: skip
    fig.data[0].update(zmin=-bound, zmax=bound, zmid=None)
    return fig


def kernel_figure(kernel: np.ndarray, title: str = "") -> go.Figure:
    """A small kernel with its weights written in the cells (blue negative, red positive)."""
    k = np.asarray(kernel, dtype=float)
    return _grid_heatmap(k, _numbers(k), "RdBu_r", zmid=0.0, title=title)


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
    return _finish_grid(fig, n, rows)


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
    return _finish_grid(fig, n, rows)
