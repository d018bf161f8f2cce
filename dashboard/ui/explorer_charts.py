"""Plotly figures of the Convolution page's step-by-step view and kernels.

Step-by-step pictures for one output cell (see conv_ops.Step). Cells are small (≤ 16×16
input plus padding), so every value is written in its cell."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

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
