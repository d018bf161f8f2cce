"""Build: stack layers in the sidebar; see every layer's shape, parameters and cost at once.

The sidebar edits the model (dashboard.ui.build_view); the main area shows what follows
from it this run: problems, the layer table, totals, the network and the exports.
"""

import streamlit as st

from dashboard.ui import state
from dashboard.ui.build_view import (
    export_ui,
    forget_stale_description,
    layer_table_ui,
    layers_ui,
    model_input_ui,
    preset_ui,
    problems_ui,
    shared_link_ui,
    spec_upload_ui,
    totals_ui,
)
from dashboard.ui.model_charts import network_figure
from dashboard.ui.navigation import start_page
from dashboard.ui.notices import show_notice

start_page()

spec = shared_link_ui(state.get_spec())
state.sync_layer_settings(spec)  # labels below show this run's edits, not the last run's

with st.sidebar:
    spec = preset_ui(spec)
    batch_size = model_input_ui(spec)
    layers_ui(spec, batch_size)

# --- main area: everything below reflects this run's widget values ---------------
forget_stale_description(spec)
analysis = spec.analyze(batch_size)
st.title("Build a CNN")
show_notice("build")
if spec.description:
    st.caption(spec.description)

problems_ui(analysis)
layer_table_ui(spec, analysis)
totals_ui(spec, analysis)
st.plotly_chart(network_figure(analysis, spec.input_shape), width="stretch")

export_ui(spec)
spec_upload_ui()
