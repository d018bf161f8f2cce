"""Data: pick a built-in dataset, download one, or upload your own, and see what is in it.

The two tabs choose the dataset (dashboard.ui.data_view); below them, the preview of
the dataset in use: its sizes, images per class and samples of each class.
"""

import streamlit as st

from dashboard.ui import state
from dashboard.ui.data_view import (
    class_counts_ui,
    class_samples_ui,
    dataset_picker_ui,
    dataset_summary_ui,
    upload_ui,
)
from dashboard.ui.navigation import start_page

start_page()

st.title("Data")
st.markdown(
    "A CNN learns from labelled images. Pick a dataset that needs no network, download a "
    "classic one, or upload your own photos. The Build and Train pages take the image "
    "shape and the number of classes from the dataset you choose here."
)

pick_tab, upload_tab = st.tabs(["Pick a dataset", "Upload your own"])
with pick_tab:
    dataset_picker_ui()
with upload_tab:
    upload_ui()

# Something to look at (and train on) from the first visit: the offline default.
dataset = state.get_dataset_or_default()
st.divider()

dataset_summary_ui(dataset)
class_counts_ui(dataset)
class_samples_ui(dataset)
