"""Evaluate: how a trained model does on test images it never saw, and where it fails.

Pick a run with a model; its test-set numbers, confusion matrix (click a cell to see its
images), per-class scores and most confident mistakes follow, then a CNN against a
dense-only network on the same data (dashboard.ui.evaluate_view).
"""

import streamlit as st

from dashboard.ui import state
from dashboard.ui.evaluate_view import (
    class_scores_ui,
    cnn_vs_dense_ui,
    confident_mistakes_ui,
    confusion_ui,
    evaluation_or_stop,
    run_choice_ui,
    summary_metrics_ui,
)
from dashboard.ui.navigation import start_page

start_page()

st.title("Evaluate")
st.caption(
    "A model is only as good as its answers on images it never trained on. "
    "Here a finished (or stopped) run meets its dataset's test images."
)

all_runs = state.get_runs()
run = run_choice_ui(all_runs)
evaluation = evaluation_or_stop(run, "Predicting every test image…")
summary_metrics_ui(evaluation)
confusion_ui(run, evaluation)
class_scores_ui(evaluation)
confident_mistakes_ui(evaluation)
cnn_vs_dense_ui(run, evaluation, all_runs)
