"""Plotly figure builders: pure functions of data, so tests check figures as data.

Sections by page; each builder returns a go.Figure and touches no session state.
"""

from __future__ import annotations

import plotly.graph_objects as go

# --- build page ---------------------------------------------------------------

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

# --- evaluation ---------------------------------------------------------------

# --- convolution explorer ----------------------------------------------------------

# --- classify / model internals ----------------------------------------------------
