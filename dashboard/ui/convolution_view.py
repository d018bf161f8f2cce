"""The Convolution page's widgets and pictures: the image, the kernel, the convolution and
pooling knobs, the output size and the four pictures (the step-by-step view is convolution_steps_view).

Each `*_ui()` function draws one part of the page and returns what the user chose;
the arithmetic is in `dashboard.explore`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

from dashboard.explore import conv_images, kernels
from dashboard.explore.conv_pipeline import (
    COLOR_MODES,
    POOL_CHOICES,
    ConvSettings,
    KernelChoice,
    Panel,
    Result,
    channel_kernels,
    learned_kernel,
    panels,
)
from dashboard.explore.kernels import LearnedKernels
from dashboard.model.shape_math import FORMULA
from dashboard.ui import explorer_charts, state
from dashboard.ui.inline_images import grid_html
from dashboard.ui.widget_keys import ConvolutionKeys

SOURCES = ("Sample photo", "Pattern", "Upload", "Dataset image")
UPLOAD_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp"]
LIBRARY = "Library"
LEARNED = "Learned kernels of a run"
DEFAULT_LIBRARY_KERNEL = 4  # Sobel x: its edges show at once on any photo


@dataclass(frozen=True)
class LibraryPick:
    """A library kernel chosen in the sidebar, before the user edits its cells."""

    name: str
    size: int
    color_mode: str  # a key of COLOR_MODES

    @property
    def channels(self) -> int:
        """Channels of the input the kernel is used on."""
        return COLOR_MODES[self.color_mode].channels


@dataclass(frozen=True)
class LearnedPick:
    """One filter of the kernels a run learned."""

    learned: LearnedKernels
    index: int
    add_bias: bool

    @property
    def channels(self) -> int:
        """Channels of the input the kernel is used on: as many as the layer takes."""
        return self.learned.in_channels


# --- image ------------------------------------------------------------------------


def image_source_ui() -> tuple[str, np.ndarray | None]:
    """The sidebar's image source and its image (uint8 H×W×C), None while there is none."""
    with st.sidebar:
        st.header("Image")
        source = st.radio("Image source", SOURCES, key=ConvolutionKeys.SOURCE, horizontal=True)
        if source == "Sample photo":
            return source, _sample_ui()
        if source == "Pattern":
            return source, _pattern_ui()
        if source == "Upload":
            return source, _upload_ui()
        return source, _dataset_image_ui()


def _sample_ui() -> np.ndarray:
    """One of scikit-image's sample photos."""
    name = st.selectbox("Photo (scikit-image)", conv_images.SAMPLES, key=ConvolutionKeys.SAMPLE)
    return conv_images.load_sample(name)


def _pattern_ui() -> np.ndarray:
    """A small black-and-white test pattern, small enough for step by step as it is."""
    name = st.selectbox("Pattern", conv_images.PATTERNS, key=ConvolutionKeys.PATTERN)
    size = st.slider(
        "Pattern size", 5, conv_images.STEP_MAX_SIDE, 10, key=ConvolutionKeys.PATTERN_SIZE
    )
    return conv_images.pattern(name, size)


def _upload_ui() -> np.ndarray | None:
    """The uploaded image; kept in the session, so a bad new file leaves the last good one."""
    file = st.file_uploader("Image file", type=UPLOAD_TYPES, key=ConvolutionKeys.FILE)
    if file is not None:
        try:
            state.set_conv_upload(file.name, conv_images.decode_upload(file.getvalue()))
        except conv_images.ImageError as exc:
            st.error(str(exc))
    upload = state.get_conv_upload()
    if upload is None:
        return None
    st.caption(f"Using {upload[0]}.")
    return upload[1]


def _dataset_image_ui() -> np.ndarray | None:
    """An image of the dataset chosen on the Data page, with its class; None without one."""
    dataset = state.get_dataset()
    if dataset is None:
        return None
    last = len(dataset.x_train) - 1
    index = st.number_input(
        f"Image of {dataset.name} (0–{last})", 0, last, 0, key=ConvolutionKeys.DATASET_INDEX
    )
    st.caption(f"Class: {dataset.class_names[int(dataset.y_train[index])]}")
    return conv_images.dataset_image(dataset.x_train, index)


def missing_image_ui(source: str) -> None:
    """Say how to get an image for `source`."""
    if source == "Upload":
        st.info("Upload an image in the sidebar (PNG, JPEG, BMP, GIF or WebP) to work on it.")
    else:
        st.info(
            "No dataset is chosen yet: pick one on the Data page, or choose another image source."
        )


# --- kernel -------------------------------------------------------------------------


def kernel_source_ui(image: np.ndarray) -> LibraryPick | LearnedPick:
    """The sidebar's kernel: one of the library, or a filter a run of this session learned."""
    runs = kernels.runs_with_kernels(state.get_runs())
    with st.sidebar:
        st.header("Kernel")
        options = [LIBRARY, LEARNED] if runs else [LIBRARY]
        kernel_source = st.radio("Kernel source", options, key=ConvolutionKeys.KERNEL_SOURCE)
        if not runs:
            st.caption("Train a model on the Train page to try the kernels it learned here.")
        if kernel_source == LEARNED:
            return _learned_pick_ui(runs)
        return _library_pick_ui(image)


def _learned_pick_ui(runs: list[Any]) -> LearnedPick:
    """The run, the filter of its first Conv2D layer, and whether to add its bias."""
    by_label = {run.label: run for run in runs}
    chosen = by_label[st.selectbox("Run", list(by_label), key=ConvolutionKeys.RUN)]
    learned = kernels.first_conv_kernels(chosen.model)
    assert learned is not None  # runs_with_kernels only lists models with a Conv2D
    index = (
        st.slider("Filter", 0, learned.n_filters - 1, 0, key=ConvolutionKeys.FILTER)
        if learned.n_filters > 1
        else 0
    )
    add_bias = st.checkbox("Add the learned bias", True, key=ConvolutionKeys.BIAS)
    return LearnedPick(learned, index, add_bias)


def _library_pick_ui(image: np.ndarray) -> LibraryPick:
    """How colours are convolved, the library kernel and its size."""
    if image.shape[2] == 1:
        color_mode = "Grayscale"
        st.caption("This image is grayscale, so it has one channel.")
    else:
        color_mode = st.radio("Colour", list(COLOR_MODES), key=ConvolutionKeys.COLOR)
    name = st.selectbox(
        "Library kernel",
        list(kernels.LIBRARY),
        index=DEFAULT_LIBRARY_KERNEL,
        key=ConvolutionKeys.KERNEL,
    )
    entry = kernels.LIBRARY[name]
    size = st.select_slider(
        "Kernel size",
        entry.sizes,
        entry.default_size,
        key=ConvolutionKeys.KERNEL_SIZE.format(name=name),
    )
    return LibraryPick(name, size, color_mode)


def kernel_editor_ui(pick: LibraryPick | LearnedPick) -> KernelChoice | None:
    """The kernel shown (learned) or edited (library); None when an edited cell is not a number."""
    if isinstance(pick, LearnedPick):
        return _learned_kernel_ui(pick)
    return _library_kernel_ui(pick)


def _learned_kernel_ui(pick: LearnedPick) -> KernelChoice:
    """The learned filter's weights, one heatmap per input channel."""
    learned = pick.learned
    kernel = learned_kernel(learned, pick.index, pick.add_bias)
    st.subheader(f"Filter {pick.index} of {learned.layer_name}")
    st.caption(
        f"{learned.kernels.shape[0]}×{learned.kernels.shape[1]} weights per input channel, "
        f"{learned.n_filters} filters. In training this layer used stride {learned.strides}, "
        f"{learned.padding} padding and dilation {learned.dilation}."
    )
    by_channel = channel_kernels(kernel, pick.channels)
    for c, column in enumerate(st.columns(pick.channels)):
        title = f"channel {'RGB'[c]}" if pick.channels == 3 else ""
        column.plotly_chart(
            explorer_charts.kernel_figure(by_channel[c], title),
            key=ConvolutionKeys.KERNEL_CHART.format(channel=c),
        )
    return kernel


def _library_kernel_ui(pick: LibraryPick) -> KernelChoice | None:
    """The library kernel as an editable grid; None (with the error shown) for a bad cell."""
    st.subheader(f"Kernel: {pick.name}")
    st.caption(kernels.LIBRARY[pick.name].about + " Edit any cell.")
    table = kernels.kernel_table(kernels.library_kernel(pick.name, pick.size))
    edited = st.data_editor(
        table,
        key=ConvolutionKeys.KERNEL_GRID.format(name=pick.name, size=pick.size),
        hide_index=True,
    )
    try:
        weights = kernels.kernel_from_grid(edited.to_numpy())
    except ValueError as exc:
        st.error(str(exc))
        return None
    return KernelChoice(weights, per_channel=COLOR_MODES[pick.color_mode].per_channel)


# --- convolution and pooling settings ------------------------------------------------


def conv_settings_ui() -> ConvSettings:
    """The sidebar's convolution and pooling knobs."""
    with st.sidebar:
        st.header("Convolution")
        stride = _stride_ui()
        padding = _padding_ui()
        dilation = st.number_input("Dilation", 1, 8, 1, key=ConvolutionKeys.DILATION)
        relu = st.toggle("ReLU after the convolution", True, key=ConvolutionKeys.RELU)
        st.header("Pooling")
        pool = st.radio("Pooling", POOL_CHOICES, horizontal=True, key=ConvolutionKeys.POOL)
        pool_size, pool_stride = _pool_window_ui(disabled=pool == "none")
        pool_padding = st.radio(
            "Pool padding",
            ["valid", "same"],
            horizontal=True,
            key=ConvolutionKeys.POOL_PADDING,
            disabled=pool == "none",
        )
    return ConvSettings(
        stride=stride,
        padding=padding,
        dilation=int(dilation),
        relu=relu,
        pool=pool,
        pool_size=pool_size,
        pool_stride=pool_stride,
        pool_padding=pool_padding,
    )


def _stride_ui() -> tuple[int, int]:
    """(rows, columns) stride, side by side."""
    rows, cols = st.columns(2)
    stride_rows = rows.number_input("Stride (rows)", 1, 16, 1, key=ConvolutionKeys.STRIDE_ROWS)
    stride_cols = cols.number_input("Stride (columns)", 1, 16, 1, key=ConvolutionKeys.STRIDE_COLS)
    return int(stride_rows), int(stride_cols)


def _padding_ui() -> str | int:
    """'valid', 'same', or a number of zero pixels on each side."""
    padding = st.radio(
        "Padding", ["valid", "same", "custom"], horizontal=True, key=ConvolutionKeys.PADDING
    )
    if padding != "custom":
        return padding
    return int(
        st.number_input("Zero pixels on each side", 0, 32, 1, key=ConvolutionKeys.PAD_PIXELS)
    )


def _pool_window_ui(disabled: bool) -> tuple[int, int]:
    """Pool size and pool stride, side by side."""
    size_column, stride_column = st.columns(2)
    size = size_column.number_input(
        "Pool size", 1, 16, 2, key=ConvolutionKeys.POOL_SIZE, disabled=disabled
    )
    stride = stride_column.number_input(
        "Pool stride", 1, 16, 2, key=ConvolutionKeys.POOL_STRIDE, disabled=disabled
    )
    return int(size), int(stride)


# --- results --------------------------------------------------------------------------


def output_size_ui(result: Result) -> None:
    """The output-size formula with this image's numbers, the padding and any notes."""
    st.subheader("Output size")
    st.markdown(f"out = {FORMULA}")
    formulas = result.conv_geometry.formulas()
    st.markdown(
        f"**Convolution** height: {formulas['H']}  \n**Convolution** width: {formulas['W']}"
    )
    if result.pool_geometry is not None:
        pool_formulas = result.pool_geometry.formulas()
        st.markdown(
            f"**Pooling** height: {pool_formulas['H']}  \n**Pooling** width: {pool_formulas['W']}"
        )
    (top, bottom), (left, right) = result.conv_geometry.pads
    st.caption(
        f"Padding: {top} top, {bottom} bottom, {left} left, {right} right "
        "('same' puts an odd extra pixel at the bottom/right, as TensorFlow does). "
        "W: input size, K: kernel size, P: padding, D: dilation, S: stride."
    )
    for note in result.notes:
        st.info(note)


def pictures_ui(result: Result, settings: ConvSettings) -> None:
    """Why the chain stopped, if it did, then input → convolution → ReLU → pooling."""
    if result.error:
        st.error(result.error)
    st.subheader("Input → convolution → ReLU → pooling")
    for column, panel in zip(st.columns(4), panels(result, settings), strict=True):
        with column:
            _panel_ui(panel)
    st.caption(
        "Each picture is scaled to its own range. One channel: black 0 to white maximum, or blue "
        "negative, white 0, red positive when there are negative values. Large maps are shown shrunk."
    )


def _panel_ui(panel: Panel) -> None:
    """One picture with its shape and value range, or the sentence saying why there is none."""
    if panel.values is None:
        st.markdown(f"**{panel.title}**")
        st.caption(panel.empty)
        return
    st.markdown(f"**{panel.title}** `{conv_images.shape_text(panel.values)}`")
    st.html(
        grid_html(
            [conv_images.display_image(panel.values)],
            width="stretch",
            image_format=conv_images.display_format(panel.values),
        )
    )
    st.caption(conv_images.range_text(panel.values))
