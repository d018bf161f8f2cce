"""Convolution: move every knob of a convolution and a pooling, and see the result at once."""

import numpy as np
import pandas as pd
import streamlit as st

from dashboard.explore import conv_images, conv_ops, kernels
from dashboard.explore.conv_pipeline import (
    COLOR_MODES,
    POOL_CHOICES,
    ConvSettings,
    KernelChoice,
    run,
    step_input,
)
from dashboard.model.shape_math import FORMULA
from dashboard.ui import explorer_charts, state
from dashboard.ui.inline_images import grid_html
from dashboard.ui.navigation import start_page

start_page()

st.title("Convolution and pooling")
st.caption(
    "Slide a kernel over an image: each output pixel is the sum of the input values under "
    "the kernel, each times its weight. Change the kernel, stride, padding and dilation and "
    "watch the output and its size change."
)

# --- image ----------------------------------------------------------------------------
SOURCES = ("Sample photo", "Pattern", "Upload", "Dataset image")
with st.sidebar:
    st.header("Image")
    source = st.radio("Image source", SOURCES, key="conv_source", horizontal=True)
    image = None
    if source == "Sample photo":
        name = st.selectbox("Photo (scikit-image)", conv_images.SAMPLES, key="conv_sample")
        image = conv_images.load_sample(name)
    elif source == "Pattern":
        name = st.selectbox("Pattern", conv_images.PATTERNS, key="conv_pattern")
        size = st.slider("Pattern size", 5, conv_images.STEP_MAX_SIDE, 10, key="conv_pattern_size")
        image = conv_images.pattern(name, size)
    elif source == "Upload":
        file = st.file_uploader(
            "Image file", type=["png", "jpg", "jpeg", "bmp", "gif", "webp"], key="conv_file"
        )
        if file is not None:
            try:
                state.set_conv_upload(file.name, conv_images.decode_upload(file.getvalue()))
            except conv_images.ImageError as exc:
                st.error(str(exc))
        upload = state.get_conv_upload()
        if upload is not None:
            st.caption(f"Using {upload[0]}.")
            image = upload[1]
    else:
        dataset = state.get_dataset()
        if dataset is not None:
            index = st.number_input(
                f"Image of {dataset.name} (0–{len(dataset.x_train) - 1})",
                0, len(dataset.x_train) - 1, 0, key="conv_dataset_index",
            )  # fmt: skip
            image = conv_images.dataset_image(dataset.x_train, index)
            st.caption(f"Class: {dataset.class_names[int(dataset.y_train[index])]}")

if image is None:
    if source == "Upload":
        st.info("Upload an image in the sidebar (PNG, JPEG, BMP, GIF or WebP) to work on it.")
    else:
        st.info(
            "No dataset is chosen yet: pick one on the Data page, or choose another image source."
        )
    st.stop()

# --- kernel ---------------------------------------------------------------------------
runs = kernels.runs_with_kernels(state.get_runs())
LEARNED = "Learned kernels of a run"
kernel_sources = ["Library", LEARNED] if runs else ["Library"]
with st.sidebar:
    st.header("Kernel")
    kernel_source = st.radio("Kernel source", kernel_sources, key="conv_kernel_source")
    if not runs:
        st.caption("Train a model on the Train page to try the kernels it learned here.")

learned = None
if kernel_source == LEARNED:
    with st.sidebar:
        run_labels = {r.label: r for r in runs}
        chosen_run = run_labels[st.selectbox("Run", list(run_labels), key="conv_run")]
        learned = kernels.first_conv_kernels(chosen_run.model)
        assert learned is not None  # runs_with_kernels only lists models with a Conv2D
        filt = (
            st.slider("Filter", 0, learned.n_filters - 1, 0, key="conv_filter")
            if learned.n_filters > 1
            else 0
        )
        add_bias = st.checkbox("Add the learned bias", True, key="conv_bias")
    channels = learned.in_channels
    color_mode = "Grayscale" if channels == 1 else "RGB, channels summed (as Conv2D)"
    kernel = KernelChoice(
        learned.kernels[:, :, :, filt : filt + 1],
        bias=learned.bias[filt : filt + 1] if add_bias else None,
    )
    kernel2d_by_channel = [learned.kernels[:, :, c, filt] for c in range(channels)]
else:
    with st.sidebar:
        if image.shape[2] == 1:
            color_mode = "Grayscale"
            st.caption("This image is grayscale, so it has one channel.")
        else:
            color_mode = st.radio("Colour", list(COLOR_MODES), key="conv_color")
        kernel_name = st.selectbox(
            "Library kernel", list(kernels.LIBRARY), index=4, key="conv_kernel"
        )
        entry = kernels.LIBRARY[kernel_name]
        kernel_size = st.select_slider(
            "Kernel size", entry.sizes, 3 if 3 in entry.sizes else entry.sizes[0],
            key=f"conv_kernel_size_{kernel_name}",
        )  # fmt: skip
    channels = COLOR_MODES[color_mode].channels

# --- convolution and pooling settings --------------------------------------------------
with st.sidebar:
    st.header("Convolution")
    c1, c2 = st.columns(2)
    stride_rows = c1.number_input("Stride (rows)", 1, 16, 1, key="conv_stride_rows")
    stride_cols = c2.number_input("Stride (columns)", 1, 16, 1, key="conv_stride_cols")
    pad_choice = st.radio(
        "Padding", ["valid", "same", "custom"], horizontal=True, key="conv_padding"
    )
    padding = pad_choice
    if pad_choice == "custom":
        padding = int(st.number_input("Zero pixels on each side", 0, 32, 1, key="conv_pad_px"))
    dilation = st.number_input("Dilation", 1, 8, 1, key="conv_dilation")
    use_relu = st.toggle("ReLU after the convolution", True, key="conv_relu")
    st.header("Pooling")
    pool = st.radio("Pooling", POOL_CHOICES, horizontal=True, key="conv_pool")
    p1, p2 = st.columns(2)
    pool_size = p1.number_input(
        "Pool size", 1, 16, 2, key="conv_pool_size", disabled=pool == "none"
    )
    pool_stride = p2.number_input(
        "Pool stride", 1, 16, 2, key="conv_pool_stride", disabled=pool == "none"
    )
    pool_padding = st.radio(
        "Pool padding", ["valid", "same"], horizontal=True, key="conv_pool_padding",
        disabled=pool == "none",
    )  # fmt: skip

settings = ConvSettings(
    (int(stride_rows), int(stride_cols)), padding, int(dilation), use_relu, pool,
    int(pool_size), int(pool_stride), pool_padding,
)  # fmt: skip
x = conv_images.to_float(image, channels)

# --- kernel editor and formulas --------------------------------------------------------
left, right = st.columns([2, 3])
with left:
    if learned is not None:
        st.subheader(f"Filter {filt} of {learned.layer_name}")
        st.caption(
            f"{learned.kernels.shape[0]}×{learned.kernels.shape[1]} weights per input channel, "
            f"{learned.n_filters} filters. In training this layer used stride {learned.strides}, "
            f"{learned.padding} padding and dilation {learned.dilation}."
        )
        kcols = st.columns(channels)
        for c, col in enumerate(kcols):
            title = f"channel {'RGB'[c]}" if channels == 3 else ""
            col.plotly_chart(
                explorer_charts.kernel_figure(kernel2d_by_channel[c], title), key=f"conv_k{c}"
            )
    else:
        st.subheader(f"Kernel: {kernel_name}")
        st.caption(entry.about + " Edit any cell.")
        base = kernels.library_kernel(kernel_name, kernel_size)
        frame = pd.DataFrame(base, columns=[str(i + 1) for i in range(kernel_size)])
        edited = st.data_editor(
            frame, key=f"conv_grid_{kernel_name}_{kernel_size}", hide_index=True
        )
        try:
            kernel2d = kernels.kernel_from_grid(edited.to_numpy())
        except ValueError as exc:
            st.error(str(exc))
            st.stop()
        kernel = KernelChoice(kernel2d, per_channel=COLOR_MODES[color_mode].per_channel)
        kernel2d_by_channel = [kernel2d] * channels

result = run(x, kernel, settings)
with right:
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
    (top, bottom), (pad_left, pad_right) = result.conv_geometry.pads
    st.caption(
        f"Padding: {top} top, {bottom} bottom, {pad_left} left, {pad_right} right "
        "('same' puts an odd extra pixel at the bottom/right, as TensorFlow does). "
        "W: input size, K: kernel size, P: padding, D: dilation, S: stride."
    )
    for note in result.notes:
        st.info(note)

if result.error:
    st.error(result.error)

# --- the four pictures ---------------------------------------------------------------
st.subheader("Input → convolution → ReLU → pooling")
panels = [
    ("Input", result.input, ""),
    ("Convolution output", result.conv, "No output: see the message above."),
    (
        "After ReLU",
        result.activated if use_relu else None,
        "ReLU is off: the pooling takes the convolution output as it is.",
    ),
    (
        "Pooled",
        result.pooled,
        "Pooling is off." if pool == "none" else "No output: see the message above.",
    ),
]
if not use_relu and result.conv is None:
    panels[2] = (panels[2][0], None, "No output: see the message above.")
for col, (title, values, empty) in zip(st.columns(4), panels, strict=True):
    with col:
        if values is None:
            st.markdown(f"**{title}**")
            st.caption(empty)
            continue
        st.markdown(f"**{title}** `{conv_images.shape_text(values)}`")
        st.html(
            grid_html(
                [conv_images.display_image(values)],
                width="stretch",
                image_format=conv_images.display_format(values),
            )
        )
        st.caption(f"min {values.min():.3g}, max {values.max():.3g}")
st.caption(
    "Each picture is scaled to its own range. One channel: black 0 to white maximum, or blue "
    "negative, white 0, red positive when there are negative values. Large maps are shown shrunk."
)

# --- step by step ---------------------------------------------------------------------
st.subheader("Step by step")
small = step_input(x)
if small.shape[:2] != x.shape[:2]:
    st.caption(
        f"Step by step works on at most {conv_images.STEP_MAX_SIDE}×{conv_images.STEP_MAX_SIDE} "
        f"pixels, so it uses a {small.shape[0]}×{small.shape[1]} copy of the input; a pattern "
        "image is small enough as it is."
    )
channel = 0
if small.shape[2] > 1:
    channel = st.radio(
        "Channel", range(small.shape[2]), format_func=lambda c: "RGB"[c], horizontal=True,
        key="conv_step_channel",
    )  # fmt: skip
    if not kernel.per_channel:
        st.caption("Conv2D adds one such sum for each channel to make one output value.")

step_geo = conv_ops.geometry(
    small.shape[:2], kernel2d_by_channel[channel].shape, settings.stride, settings.padding,
    settings.dilation,
)  # fmt: skip
step_error = conv_ops.fit_error(step_geo)


def step_view() -> None:
    """One output cell: its window on the padded input, the products, and the output so far."""
    n_cells = int(np.prod(step_geo.out_size))
    playing = state.conv_playing()
    if playing:
        state.advance_conv_step(n_cells)
    cell = state.conv_step_cell(n_cells)
    c1, c2 = st.columns([5, 1])
    with c1:
        if n_cells > 1:
            cell = st.slider("Output cell (row by row)", 0, n_cells - 1, key=state.CONV_STEP_KEY)
    with c2:
        if st.button("Pause" if playing else "Play", key="conv_play", icon=":material/play_arrow:"):
            state.set_conv_playing(not playing, n_cells)
            st.rerun()
    step = conv_ops.conv_step(
        small[:, :, channel], kernel2d_by_channel[channel], cell, settings.stride,
        settings.padding, settings.dilation,
    )  # fmt: skip
    st.markdown(
        f"Output cell row {step.row}, column {step.col} reads input rows "
        f"{', '.join(map(str, step.rows - step_geo.pads[0][0]))} and columns "
        f"{', '.join(map(str, step.cols - step_geo.pads[1][0]))} (negative or past the end: "
        f"padding). Sum of the {step.products.size} products = **{step.total:.4g}**."
    )
    f1, f2, f3 = st.columns([3, 2, 3])
    f1.plotly_chart(explorer_charts.step_input_figure(step), key="conv_step_input")
    f2.plotly_chart(explorer_charts.step_products_figure(step), key="conv_step_products")
    f3.plotly_chart(explorer_charts.step_output_figure(step), key="conv_step_output")


if step_error:
    st.error(step_error)
else:
    st.fragment(step_view, run_every=0.8 if state.conv_playing() else None)()
