"""Plotly figures of the Evaluate page: the clickable confusion matrix, per-class scores,
and the CNN against its dense-only baseline."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

CONFUSION_CLICK_TRACE = 1  # the invisible per-cell markers a click selects
CNN_COLOR, DENSE_COLOR = "#1f77b4", "#ff7f0e"


def confusion_figure(
    confusion: np.ndarray, class_names: list[str], highlight: tuple[int, int] | None = None
) -> go.Figure:
    """Confusion matrix heatmap with the count in every cell; rows true, columns predicted.

    Plotly heatmaps report no click selection in Streamlit, so an invisible
    square marker sits on every cell (trace CONFUSION_CLICK_TRACE, row-major,
    customdata [true, predicted, count]); clicking a cell selects its marker.
    `highlight` (true, predicted) outlines the cell being shown, wherever the
    choice came from. The colour scale saturates at twice the largest mistake
    count: else the diagonal's hundreds wash every mistake out.

    Long because Plotly's layout is declared inline, one setting per line.
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
    """(true, predicted) of the cell a confusion_figure selection picked, if any."""
    points = (selection or {}).get("points", []) if isinstance(selection, dict) else []
    for point in points:
        if point.get("curve_number") != CONFUSION_CLICK_TRACE:
            continue
        index = point.get("point_index", point.get("point_number"))
        if isinstance(index, int) and 0 <= index < num_classes * num_classes:
            true_class, predicted_class = divmod(index, num_classes)
            return true_class, predicted_class
    return None


def class_scores_figure(scores: pd.DataFrame) -> go.Figure:
    """Grouped bars of precision, recall and F1 per class (columns of per_class_scores)."""
    long = scores.melt(id_vars="class", value_vars=["precision", "recall", "F1"], var_name="score")
    long["class"] = long["class"].astype(str)
    fig = px.bar(long, x="class", y="value", color="score", barmode="group")
    fig.update_xaxes(type="category", title="Class")
    fig.update_yaxes(range=[0, 1.02], title="Score", tickformat=".0%")
    fig.update_layout(legend_title_text="", margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fig


def cnn_vs_dense_figure(
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
