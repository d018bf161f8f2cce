"""Convolution: move every knob of a convolution and a pooling, and see the result at once."""

import streamlit as st

from dashboard.explore.conv_images import to_float
from dashboard.explore.conv_pipeline import run
from dashboard.ui.convolution_steps_view import step_by_step_ui
from dashboard.ui.convolution_view import (
    conv_settings_ui,
    image_source_ui,
    kernel_editor_ui,
    kernel_source_ui,
    missing_image_ui,
    output_size_ui,
    pictures_ui,
)
from dashboard.ui.navigation import start_page

start_page()

st.title("Convolution and pooling")
st.caption(
    "Slide a kernel over an image: each output pixel is the sum of the input values under "
    "the kernel, each times its weight. Change the kernel, stride, padding and dilation and "
    "watch the output and its size change."
)

source, image = image_source_ui()
# Drawn on every run, even before there is an image: a widget left out of a run loses
# its value, and came back showing its default while the output used the old one.
settings = conv_settings_ui()
if image is None:
    missing_image_ui(source)
    st.stop()
kernel_pick = kernel_source_ui(image)
x = to_float(image, kernel_pick.channels)

left, right = st.columns([2, 3])
with left:
    kernel = kernel_editor_ui(kernel_pick)
if kernel is None:  # an edited cell is not a number; the editor says which
    st.stop()
result = run(x, kernel, settings)
with right:
    output_size_ui(result)

pictures_ui(result, settings)
step_by_step_ui(x, kernel, settings)
