"""Evaluate: how a trained model does on test images it never saw, and where it fails."""

from functools import partial

import streamlit as st

from dashboard.data.images import for_display
from dashboard.insight.evaluation import (
    BASELINE_PRESET,
    EvaluationError,
    comparison_partners,
    comparison_table,
    comparison_verdict,
    is_convolutional,
    pending_partner,
    settings_differences,
    start_baseline_run,
)
from dashboard.model.spec import SpecError
from dashboard.training import run_compare
from dashboard.ui import evaluation_charts, state
from dashboard.ui.inline_images import grid_html
from dashboard.ui.navigation import start_page
from dashboard.ui.notices import set_notice, show_notice

start_page()

CELL_IMAGES_SHOWN = 48
MISTAKE_WIDTH = 140  # pixels: room for the caption under each mistake

st.title("Evaluate")
st.caption(
    "A model is only as good as its answers on images it never trained on. "
    "Here a finished (or stopped) run meets its dataset's test images."
)

all_runs = state.get_runs()
runs = {run.id: run for run in all_runs if run.model is not None}
if not runs:
    if all_runs:
        st.info(
            "None of your runs has a model yet: wait until one is done, or press Stop on the "
            "**Train** page (a stopped run keeps its weights), then come back here."
        )
    else:
        st.info(
            "There is no trained model to evaluate yet. Pick a model on the **Build** page "
            "(the default preset trains in under a minute), train it on the **Train** page, "
            "then come back here."
        )
    st.stop()

run_id = st.selectbox(
    "Run", list(runs), format_func=lambda rid: runs[rid].label, key=state.EVAL_RUN_KEY
)
run = runs[run_id]


def evaluation_or_stop(run, spinner_text: str):
    """The run's evaluation, or its one-sentence problem and the end of the page."""
    try:
        with st.spinner(spinner_text):
            return state.evaluation_for(run)
    except EvaluationError as exc:
        st.error(str(exc))
        st.stop()


evaluation = evaluation_or_stop(run, "Predicting every test image…")

names = evaluation.class_names
accuracy_col, loss_col, count_col, mistakes_col = st.columns(4)
accuracy_col.metric("Test accuracy", run_compare.metric_text(evaluation.accuracy, "accuracy"))
loss_col.metric(
    "Test loss",
    run_compare.metric_text(evaluation.loss, "loss"),
    help="Mean cross-entropy, as Keras reports it",
)
count_col.metric("Test images", f"{evaluation.num_test:,}")
mistakes_col.metric("Mistakes", f"{evaluation.num_mistakes:,}")

# --- confusion matrix ---------------------------------------------------------------
st.subheader("Confusion matrix")
st.caption(
    "Each row is a true class and each column the model's answer, so the diagonal holds the "
    "right answers and every other cell a kind of mistake. Click a cell, or pick its two "
    "classes below, to see its test images."
)
state.init_confusion_cell(run.id, evaluation.worst_cell())
true_key, pred_key = state.confusion_cell_keys(run.id)
# The chart sits above the selectboxes but is drawn after them, into a placeholder,
# so it outlines the cell they hold (a click on the chart moves them first).
chart_slot = st.empty()
true_col, pred_col = st.columns(2)
true_class = true_col.selectbox(
    "True class", range(len(names)), format_func=lambda i: names[i], key=true_key
)
pred_class = pred_col.selectbox(
    "Predicted class", range(len(names)), format_func=lambda i: names[i], key=pred_key
)
chart_slot.plotly_chart(
    evaluation_charts.confusion_figure(evaluation.confusion, names, (true_class, pred_class)),
    key=state.confusion_chart_key(run.id),
    on_select=partial(state.select_confusion_cell, run.id, evaluation.num_classes),
    selection_mode="points",
    width="stretch",
)
cell = evaluation.cell(true_class, pred_class)
verdict = "right" if true_class == pred_class else "wrong"
if len(cell) == 0:
    st.write(
        f"No test image of class **{names[true_class]}** was predicted as **{names[pred_class]}**."
    )
else:
    shown = cell[:CELL_IMAGES_SHOWN]
    st.write(
        f"**{len(cell)}** test images of class **{names[true_class]}** were predicted as "
        f"**{names[pred_class]}** ({verdict})"
        + (f"; the {len(shown)} the model was surest of:" if len(cell) > len(shown) else ":")
    )
    st.html(
        grid_html(
            [for_display(evaluation.x_test[i]) for i in shown],
            [f"#{i}: {c:.0%}" for i, c in zip(shown, evaluation.confidence(shown), strict=True)],
        )
    )

# --- per-class scores ---------------------------------------------------------------
st.subheader("Per-class precision, recall and F1")
st.caption(
    "Precision: of the images the model called this class, the share that were. "
    "Recall: of the images of this class, the share it found. F1: the harmonic mean of both."
)
scores = evaluation.scores()
table_col, chart_col = st.columns(2)
percent = st.column_config.NumberColumn(format="percent")
table_col.dataframe(
    scores,
    hide_index=True,
    column_config={"precision": percent, "recall": percent, "F1": percent, "support": "Images"},
)
chart_col.plotly_chart(evaluation_charts.class_scores_figure(scores), width="stretch")

# --- most confident mistakes -----------------------------------------------------------
st.subheader("The most confident mistakes")
if evaluation.num_mistakes == 0:
    st.success("The model got every test image right.")
else:
    count = st.slider(
        "How many", 4, min(60, max(4, evaluation.num_mistakes)), 12, key=state.EVAL_MISTAKES_KEY
    )
    st.caption(
        "The wrong answers the model was surest of. Some are the model's fault, some are images "
        "a person would hesitate over too, and some are mislabelled."
    )
    mistakes = evaluation.mistakes(count)
    gallery = [for_display(evaluation.x_test[i], MISTAKE_WIDTH) for i in mistakes["index"]]
    st.html(grid_html(gallery, list(mistakes["caption"])))

# --- CNN against dense-only ----------------------------------------------------------------


def start_baseline(cnn_run) -> None:
    """Train the dense-only preset on the CNN run's data with its settings."""
    try:
        state.add_run(start_baseline_run(cnn_run))
    except (EvaluationError, SpecError) as exc:
        set_notice("evaluate", "error", f"The baseline could not start: {exc}")


@st.fragment(run_every="2s")
def wait_for_run(run_id: str) -> None:
    """Poll until the run is no longer training, then redraw the whole page once."""
    waiting = state.get_run(run_id)
    if waiting is None or not waiting.is_active:
        st.rerun()


st.subheader("CNN against a dense-only network")
st.caption(
    "Article 000's story: a dense network sees an image as a flat list of pixels and must learn "
    "every position anew, while a CNN slides the same small filters over the whole image. "
    "On the same data with the same settings, the CNN usually makes fewer mistakes with fewer "
    "parameters."
)
run_is_cnn = is_convolutional(run.spec)
partners = {other.id: other for other in comparison_partners(run, all_runs)}
if not partners:
    settings = ", ".join(f"{k} {v}" for k, v in run.settings.items()) or "the defaults"
    if run_is_cnn:
        how = (
            f"load the **{BASELINE_PRESET}** preset on the **Build** page and train it on "
            f"**{run.dataset_name}** on the **Train** page"
        )
    else:
        how = (
            "load a CNN preset (the **default** one is fast) on the **Build** page and train it "
            f"on **{run.dataset_name}** on the **Train** page"
        )
    st.info(
        f"There is no {'dense-only' if run_is_cnn else 'CNN'} run on {run.dataset_name} to "
        f"compare with yet. To make one, {how} with the same settings as this run ({settings}), "
        "then come back here."
    )
    show_notice("evaluate")
    pending = pending_partner(run, all_runs)
    if pending is not None:
        st.info(
            f"Run {pending.id} ({pending.spec.name}) is {pending.status} on the same data; the "
            "comparison appears here when it finishes."
        )
        wait_for_run(pending.id)
    elif run_is_cnn:
        st.button(
            f"Train the {BASELINE_PRESET} baseline now (same data and settings)",
            on_click=start_baseline,
            args=(run,),
            type="primary",
        )
    st.stop()

partner_id = st.selectbox(
    "Compare with",
    list(partners),
    format_func=lambda rid: partners[rid].label,
    key=f"eval_partner_{run.id}",
)
partner = partners[partner_id]
partner_evaluation = evaluation_or_stop(
    partner, "Predicting every test image with the other model…"
)

cnn, dense = (run, evaluation), (partner, partner_evaluation)
if not run_is_cnn:
    cnn, dense = dense, cnn
table = comparison_table(cnn, dense)
st.dataframe(
    table,
    hide_index=True,
    column_config={
        "test accuracy": percent,
        "test loss": st.column_config.NumberColumn(format="%.4f"),
        "parameters": st.column_config.NumberColumn(format="localized"),
    },
)
st.markdown(comparison_verdict(table))
differences = settings_differences(cnn[0], dense[0])
if differences:
    st.warning(
        "The two runs were not trained the same way, so the comparison is not quite fair: "
        + "; ".join(f"{k}: {a} (CNN) vs {b} (dense)" for k, a, b in differences)
        + "."
    )
cnn_scores, dense_scores = cnn[1].scores(), dense[1].scores()
st.plotly_chart(
    evaluation_charts.cnn_vs_dense_figure(
        names,
        cnn_scores["recall"].to_numpy(),
        dense_scores["recall"].to_numpy(),
        f"CNN {cnn[0].spec.name}: {cnn[1].accuracy:.2%}",
        f"Dense only {dense[0].spec.name}: {dense[1].accuracy:.2%}",
    ),
    width="stretch",
)
