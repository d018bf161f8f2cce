"""Plotly figures of training runs: loss and accuracy per epoch, the per-batch curve
once a run ends, and several runs overlaid (Train page)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.data.limits import count_text
from dashboard.ui.batch_series import batch_series

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
        fig.update_xaxes(title_text="epoch", **epoch_ticks(len(rows)), row=1, col=col)
        _metric_axes(fig, metric, 1, col)
    fig.update_layout(
        height=320, margin={"t": 40, "b": 40, "l": 50, "r": 10}, uirevision=uirevision
    )
    return fig


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
                       name=f"average of {count_text(series.window, 'batch', 'batches')}", mode="lines",
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
    last = max((row["epoch"] for _, history in series for row in history), default=1)
    fig.update_xaxes(title_text="epoch", **epoch_ticks(last))
    _metric_axes(fig, metric)
    fig.update_layout(
        title=f"{METRIC_TITLES.get(metric, metric)} per epoch",
        height=420,
        margin={"t": 40, "b": 40, "l": 50, "r": 10},
        # Below the chart, so the curves keep the whole width however many runs there are.
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0},
        uirevision="overlay",
    )
    return fig


def epoch_ticks(last_epoch: int) -> dict[str, Any]:
    """Whole epochs from 1 to `last_epoch`, about eight labels, never rotated: every
    epoch up to 10, else steps of 2, 5, 10, 20, 50, ... (and 1 is not a step away).

    >>> epoch_ticks(30)["dtick"], epoch_ticks(200)["dtick"], epoch_ticks(4)["dtick"]
    (5, 50, 1)
    """
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500) if last_epoch / s <= 8)
    return {
        "range": [0.5, last_epoch + 0.5],
        "tick0": 0 if step > 1 else 1,
        "dtick": step,
        "tickangle": 0,
        "tickformat": "d",
    }
