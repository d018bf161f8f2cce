"""The Convolution page's step-by-step view: one output cell at a time, its window, the
products and the sum, with Play to walk through the cells."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard.explore import conv_images, conv_ops
from dashboard.explore.conv_pipeline import (
    ConvSettings,
    KernelChoice,
    channel_kernels,
    step_at,
    step_geometry,
    step_input,
    window_in_input,
)
from dashboard.ui import explorer_charts, state
from dashboard.ui.widget_keys import ConvolutionKeys


def step_by_step_ui(x: np.ndarray, kernel: KernelChoice, settings: ConvSettings) -> None:
    """One output cell at a time on a small copy of the input, with Play to animate it."""
    st.subheader("Step by step")
    small = step_input(x)
    if small.shape[:2] != x.shape[:2]:
        side = conv_images.STEP_MAX_SIDE
        st.caption(
            f"Step by step works on at most {side}×{side} pixels, so it uses a "
            f"{small.shape[0]}×{small.shape[1]} copy of the input; a pattern image is small "
            "enough as it is."
        )
    channel = _step_channel_ui(small, kernel)
    kernel2d = channel_kernels(kernel, small.shape[2])[channel]
    geometry = step_geometry(small.shape[:2], kernel2d, settings)
    error = conv_ops.fit_error(geometry)
    if error:
        st.error(error)
        return
    # A fragment, so Play redraws only this part of the page on each tick.
    run_every = 0.8 if state.conv_playing() else None
    st.fragment(_step_cell_ui, run_every=run_every)(small[:, :, channel], kernel2d, settings)


def _step_channel_ui(small: np.ndarray, kernel: KernelChoice) -> int:
    """The colour channel step by step works on (0 for a grayscale input)."""
    if small.shape[2] == 1:
        return 0
    channel = st.radio(
        "Channel",
        range(small.shape[2]),
        format_func=lambda c: "RGB"[c],
        horizontal=True,
        key=ConvolutionKeys.STEP_CHANNEL,
    )
    if not kernel.per_channel:
        st.caption("Conv2D adds one such sum for each channel to make one output value.")
    return channel


def _step_cell_ui(image: np.ndarray, kernel: np.ndarray, settings: ConvSettings) -> None:
    """One output cell: its window on the padded input, the products, and the output so far."""
    n_cells = int(np.prod(step_geometry(image.shape, kernel, settings).out_size))
    cell = _play_controls_ui(n_cells)
    step = step_at(image, kernel, cell, settings)
    rows, cols = window_in_input(step)
    st.markdown(
        f"Output cell row {step.row}, column {step.col} reads input rows "
        f"{', '.join(map(str, rows))} and columns {', '.join(map(str, cols))} (negative or "
        f"past the end: padding). Sum of the {step.products.size} products = "
        f"**{step.total:.4g}**."
    )
    left, middle, right = st.columns([3, 2, 3])
    left.plotly_chart(explorer_charts.step_input_figure(step), key=ConvolutionKeys.STEP_INPUT)
    middle.plotly_chart(
        explorer_charts.step_products_figure(step), key=ConvolutionKeys.STEP_PRODUCTS
    )
    right.plotly_chart(explorer_charts.step_output_figure(step), key=ConvolutionKeys.STEP_OUTPUT)


def _play_controls_ui(n_cells: int) -> int:
    """The output-cell slider and the Play/Pause button; returns the cell to show."""
    playing = state.conv_playing()
    if playing:
        state.advance_conv_step(n_cells)
    cell = state.conv_step_cell(n_cells)
    slider_column, button_column = st.columns([5, 1])
    with slider_column:
        if n_cells > 1:
            cell = st.slider(
                "Output cell (row by row)", 0, n_cells - 1, key=ConvolutionKeys.STEP_CELL
            )
    with button_column:
        label = "Pause" if playing else "Play"
        if st.button(label, key=ConvolutionKeys.PLAY, icon=":material/play_arrow:"):
            state.set_conv_playing(not playing, n_cells)
            st.rerun()
    return cell
