"""Train: settings, Start/Stop, live curves, and the session's runs.

The dataset and the settings form come first; Start adds a run and shows it live (it
redraws itself every second while it trains, dashboard.ui.train_view). Below, every run
of this session: a table to select and compare them, and one run's downloads.
"""

import streamlit as st

from dashboard import training
from dashboard.compat import streamlit_cleanup
from dashboard.ui import state
from dashboard.ui.navigation import start_page
from dashboard.ui.train_view import (
    live_run_ui,
    preset_recipe_ui,
    run_actions_ui,
    run_choice_ui,
    runs_table_ui,
    selected_runs_ui,
    start_run_ui,
    train_dataset_ui,
    train_form_ui,
)

start_page()
streamlit_cleanup.install()
training.warm_up()  # the import runs while the user picks settings, not after Start
st.title("Train")
spec = state.get_spec()
state.restore_train_widgets()

dataset = train_dataset_ui(spec)
preset_recipe_ui(spec)
settings, started = train_form_ui(spec, dataset)
choice = state.pop_start_choice()  # after the twin warning: follow it or train separately
if (started or choice) and dataset is not None:
    start_run_ui(spec, dataset, settings, choice=choice)

runs = state.get_runs()
live_run_ui(runs)

st.header("Runs")
if not runs:
    st.caption("Runs you start are listed here; they stay when you reload this page.")
    st.stop()
selected = runs_table_ui(runs)
selected_runs_ui(selected)

st.subheader("One run")
run = run_choice_ui(runs)
run_actions_ui(run)
