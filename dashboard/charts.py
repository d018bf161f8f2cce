"""Plotly figure builders: pure functions of data, so tests check figures as data.

Sections by page; each builder returns a go.Figure and touches no session state.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

# --- build page ---------------------------------------------------------------

# --- data page ----------------------------------------------------------------

# --- training and run comparison -------------------------------------------------

# --- evaluation ---------------------------------------------------------------

# --- convolution explorer ----------------------------------------------------------
# Step-by-step pictures for one output cell (see conv_ops.Step). Cells are small (≤ 16×16
# input plus padding), so every value is written in its cell.

WINDOW_COLOR = "#ff7f0e"
PAD_FILL = "rgba(120, 120, 120, 0.35)"


def _grid_heatmap(
    values: np.ndarray,
    text: np.ndarray,
    colorscale: str,
    zmid: float | None = None,
    title: str = "",
    x0: int = 0,
    y0: int = 0,
) -> go.Figure:
    h, w = values.shape
    fig = go.Figure(
        go.Heatmap(
            z=values,
            x=np.arange(w) + x0,
            y=np.arange(h) + y0,
            text=text,
            texttemplate="%{text}",
            colorscale=colorscale,
            zmid=zmid,
            showscale=False,
            xgap=1,
            ygap=1,
            hovertemplate="row %{y}, column %{x}: %{z:.3f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain", dtick=1)
    fig.update_xaxes(constrain="domain", dtick=1, side="top")
    fig.update_layout(
        title=title, margin={"l": 10, "r": 10, "t": 60, "b": 10}, height=max(260, 26 * h + 90)
    )
    return fig


def _numbers(values: np.ndarray) -> np.ndarray:
    return np.vectorize(lambda v: "" if np.isnan(v) else f"{v:.2g}")(values.astype(float))


def step_input_figure(step: Any) -> go.Figure:
    """The padded input with the padding shaded and the kernel's window outlined.

    Axes count rows/columns of the original input, so padding has negative or
    past-the-end coordinates.
    """
    (top, bottom), (left, right) = step.geometry.pads
    h, w = step.padded.shape
    fig = _grid_heatmap(step.padded, _numbers(step.padded), "Greys", title="Input with padding",
                        x0=-left, y0=-top)  # fmt: skip
    # Padding: shaded bands outside the original input.
    bands = [
        (-left - 0.5, -top - 0.5, w - left - 0.5, -0.5),  # top
        (-left - 0.5, h - top - bottom - 0.5, w - left - 0.5, h - top - 0.5),  # bottom
        (-left - 0.5, -0.5, -0.5, h - top - bottom - 0.5),  # left
        (w - left - right - 0.5, -0.5, w - left - 0.5, h - top - bottom - 0.5),  # right
    ]
    for x0, y0, x1, y1 in bands:
        if x1 > x0 and y1 > y0:
            fig.add_shape(type="rect", x0=x0, y0=y0, x1=x1, y1=y1, fillcolor=PAD_FILL,
                          line_width=0, layer="above", name="padding")  # fmt: skip
    fig.add_shape(type="rect", x0=-0.5, y0=-0.5, x1=w - left - right - 0.5,
                  y1=h - top - bottom - 0.5, line={"color": "#1f77b4", "width": 2},
                  name="input")  # fmt: skip
    for r in step.rows:
        for c in step.cols:
            fig.add_shape(type="rect", x0=c - left - 0.5, y0=r - top - 0.5, x1=c - left + 0.5,
                          y1=r - top + 0.5, line={"color": WINDOW_COLOR, "width": 3},
                          name="window")  # fmt: skip
    return fig


def step_products_figure(step: Any) -> go.Figure:
    """Each input value under the kernel times its weight, and the product."""
    text = np.vectorize(lambda v, k, p: f"{v:.2g}×{k:.2g}<br><b>{p:.2g}</b>")(
        step.window, step.kernel, step.products
    )
    return _grid_heatmap(step.products, text, "RdBu_r", zmid=0.0,
                         title=f"Products: sum = {step.total:.4g}")  # fmt: skip


def step_output_figure(step: Any) -> go.Figure:
    """The output filled in up to the current cell, which is outlined."""
    filled = np.full(step.output.shape, np.nan)
    flat = filled.reshape(-1)
    flat[: step.index + 1] = step.output.reshape(-1)[: step.index + 1]
    fig = _grid_heatmap(filled, _numbers(filled), "RdBu_r", zmid=0.0,
                        title=f"Output {step.output.shape[0]}×{step.output.shape[1]}")  # fmt: skip
    fig.add_shape(type="rect", x0=step.col - 0.5, y0=step.row - 0.5, x1=step.col + 0.5,
                  y1=step.row + 0.5, line={"color": WINDOW_COLOR, "width": 3})  # fmt: skip
    return fig


def kernel_figure(kernel: np.ndarray, title: str = "") -> go.Figure:
    """A small kernel with its weights written in the cells (blue negative, red positive)."""
    k = np.asarray(kernel, dtype=float)
    return _grid_heatmap(k, _numbers(k), "RdBu_r", zmid=0.0, title=title)


# --- classify / model internals ----------------------------------------------------
