"""The Evaluate page's pieces: the run picker, the headline metrics, the confusion
matrix with its cell's images, the per-class scores, the most confident mistakes, and
the CNN against a dense-only network (with the button that trains the baseline).
pages/evaluate.py calls them in order; the numbers and sentences come from
insight.evaluation."""

from __future__ import annotations

from functools import partial

import streamlit as st

from dashboard.data.images import for_display
from dashboard.insight.evaluation import (
    BASELINE_PRESET,
    Evaluation,
    EvaluationError,
    cell_captions,
    cell_sentence,
    cnn_and_dense,
    comparison_partners,
    comparison_table,
    comparison_trace_names,
    comparison_verdict,
    is_convolutional,
    missing_partner_text,
    pending_partner,
    pending_partner_text,
    settings_differences,
    start_baseline_run,
    summary_metrics,
    unfair_comparison_text,
)
from dashboard.model.spec import SpecError
from dashboard.training import Run
from dashboard.ui import evaluation_charts, state
from dashboard.ui.inline_images import grid_html
from dashboard.ui.notices import set_notice, show_notice
from dashboard.ui.widget_keys import EvaluateKeys

CELL_IMAGES_SHOWN = 48
MISTAKE_WIDTH = 140  # pixels: room for the caption under each mistake
BASELINE_NOTICE = "evaluate"  # where the baseline button's message shows (see ui.notices)
METRIC_HELP = {"Test loss": "Mean cross-entropy, as Keras reports it"}

Pair = tuple[Run, Evaluation]


def percent_column() -> dict:
    """A table column of shares written as percentages."""
    return st.column_config.NumberColumn(format="percent")


# --- the run and its numbers ------------------------------------------------------------


def run_choice_ui(all_runs: list[Run]) -> Run:
    """Pick a run that has a model; with none, say how to get one and end the page."""
    runs = {run.id: run for run in all_runs if run.model is not None}
    if not runs:
        if all_runs:
            st.info(
                "None of your runs has a model yet: wait until one is done, or press Stop on "
                "the **Train** page (a stopped run keeps its weights), then come back here."
            )
        else:
            st.info(
                "There is no trained model to evaluate yet. Pick a model on the **Build** page "
                "(the default preset trains in under a minute), train it on the **Train** page, "
                "then come back here."
            )
        st.stop()
    run_id = st.selectbox(
        "Run", list(runs), format_func=lambda rid: runs[rid].label, key=EvaluateKeys.RUN
    )
    return runs[run_id]


def evaluation_or_stop(run: Run, spinner_text: str) -> Evaluation:
    """The run's evaluation, or its one-sentence problem and the end of the page."""
    try:
        with st.spinner(spinner_text):
            return state.evaluation_for(run)
    except EvaluationError as exc:
        st.error(str(exc))
        st.stop()


def summary_metrics_ui(evaluation: Evaluation) -> None:
    """Test accuracy, loss, image count and mistakes, side by side."""
    for col, (label, value) in zip(st.columns(4), summary_metrics(evaluation).items(), strict=True):
        col.metric(label, value, help=METRIC_HELP.get(label))


# --- confusion matrix -------------------------------------------------------------------


def confusion_ui(run: Run, evaluation: Evaluation) -> None:
    """The confusion matrix, the cell picked on it or below it, and that cell's images."""
    st.subheader("Confusion matrix")
    st.caption(
        "Each row is a true class and each column the model's answer, so the diagonal holds "
        "the right answers and every other cell a kind of mistake. Click a cell, or pick its "
        "two classes below, to see its test images."
    )
    true_class, pred_class = confusion_chart_ui(run, evaluation)
    cell_images_ui(evaluation, true_class, pred_class)


def confusion_chart_ui(run: Run, evaluation: Evaluation) -> tuple[int, int]:
    """The chart and the two class pickers; returns the (true, predicted) cell they hold."""
    names = evaluation.class_names
    state.init_confusion_cell(run.id, evaluation.worst_cell())
    true_key, pred_key = EvaluateKeys.cell(run.id)
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
        key=EvaluateKeys.confusion_chart(run.id),
        on_select=partial(state.select_confusion_cell, run.id, evaluation.num_classes),
        selection_mode="points",
        width="stretch",
    )
    return true_class, pred_class


def cell_images_ui(evaluation: Evaluation, true_class: int, pred_class: int) -> None:
    """What the cell holds, and its test images the model was surest of."""
    cell = evaluation.cell(true_class, pred_class)
    shown = cell[:CELL_IMAGES_SHOWN]
    st.write(cell_sentence(evaluation.class_names, true_class, pred_class, len(cell), len(shown)))
    if len(cell) > 0:
        st.html(
            grid_html(
                [for_display(evaluation.x_test[i]) for i in shown],
                cell_captions(evaluation, shown),
            )
        )


# --- per-class scores and mistakes -------------------------------------------------------


def class_scores_ui(evaluation: Evaluation) -> None:
    """Per-class precision, recall and F1: a table and a chart."""
    st.subheader("Per-class precision, recall and F1")
    st.caption(
        "Precision: of the images the model called this class, the share that were. "
        "Recall: of the images of this class, the share it found. F1: the harmonic mean of both."
    )
    scores = evaluation.scores()
    table_col, chart_col = st.columns(2)
    percent = percent_column()
    table_col.dataframe(
        scores,
        hide_index=True,
        column_config={
            "precision": percent,
            "recall": percent,
            "F1": percent,
            "support": "Images",
        },
    )
    chart_col.plotly_chart(evaluation_charts.class_scores_figure(scores), width="stretch")


def confident_mistakes_ui(evaluation: Evaluation) -> None:
    """The wrong answers the model was surest of, as many as the slider asks for."""
    st.subheader("The most confident mistakes")
    if evaluation.num_mistakes == 0:
        st.success("The model got every test image right.")
        return
    most = min(60, max(4, evaluation.num_mistakes))
    count = st.slider("How many", 4, most, 12, key=EvaluateKeys.MISTAKES)
    st.caption(
        "The wrong answers the model was surest of. Some are the model's fault, some are "
        "images a person would hesitate over too, and some are mislabelled."
    )
    mistakes = evaluation.mistakes(count)
    gallery = [for_display(evaluation.x_test[i], MISTAKE_WIDTH) for i in mistakes["index"]]
    st.html(grid_html(gallery, list(mistakes["caption"])))


# --- CNN against dense-only -------------------------------------------------------------------


def cnn_vs_dense_ui(run: Run, evaluation: Evaluation, all_runs: list[Run]) -> None:
    """The run against one of the other kind on the same data; without one, how to make
    one (and the end of the page)."""
    st.subheader("CNN against a dense-only network")
    st.caption(
        "Article 000's story: a dense network sees an image as a flat list of pixels and must "
        "learn every position anew, while a CNN slides the same small filters over the whole "
        "image. On the same data with the same settings, the CNN usually makes fewer mistakes "
        "with fewer parameters."
    )
    partners = {other.id: other for other in comparison_partners(run, all_runs)}
    if not partners:
        no_partner_ui(run, all_runs)
        st.stop()
    partner_id = st.selectbox(
        "Compare with",
        list(partners),
        format_func=lambda rid: partners[rid].label,
        key=EvaluateKeys.partner(run.id),
    )
    partner = partners[partner_id]
    partner_evaluation = evaluation_or_stop(
        partner, "Predicting every test image with the other model…"
    )
    cnn, dense = cnn_and_dense((run, evaluation), (partner, partner_evaluation))
    comparison_ui(cnn, dense, evaluation.class_names)


def no_partner_ui(run: Run, all_runs: list[Run]) -> None:
    """How to make a run to compare with; one on its way is waited for, and a CNN run
    gets a button that trains the dense-only baseline."""
    st.info(missing_partner_text(run))
    show_notice(BASELINE_NOTICE)
    pending = pending_partner(run, all_runs)
    if pending is not None:
        st.info(pending_partner_text(pending))
        wait_for_run(pending.id)
    elif is_convolutional(run.spec):
        st.button(
            f"Train the {BASELINE_PRESET} baseline now (same data and settings)",
            on_click=start_baseline,
            args=(run,),
            type="primary",
        )


def start_baseline(cnn_run: Run) -> None:
    """Button callback: train the dense-only preset on the CNN run's data with its settings."""
    try:
        state.add_run(start_baseline_run(cnn_run))
    except (EvaluationError, SpecError) as exc:
        set_notice(BASELINE_NOTICE, "error", f"The baseline could not start: {exc}")


@st.fragment(run_every="2s")
def wait_for_run(run_id: str) -> None:
    """Poll until the run is no longer training, then redraw the whole page once."""
    waiting = state.get_run(run_id)
    if waiting is None or not waiting.is_active:
        st.rerun()


def comparison_ui(cnn: Pair, dense: Pair, class_names: list[str]) -> None:
    """The two models' table, who won, whether it was fair, and their recall per class."""
    table = comparison_table(cnn, dense)
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "test accuracy": percent_column(),
            "test loss": st.column_config.NumberColumn(format="%.4f"),
            "parameters": st.column_config.NumberColumn(format="localized"),
        },
    )
    st.markdown(comparison_verdict(table))
    unfair = unfair_comparison_text(settings_differences(cnn[0], dense[0]))
    if unfair:
        st.warning(unfair)
    cnn_name, dense_name = comparison_trace_names(cnn, dense)
    st.plotly_chart(
        evaluation_charts.cnn_vs_dense_figure(
            class_names,
            cnn[1].scores()["recall"].to_numpy(),
            dense[1].scores()["recall"].to_numpy(),
            cnn_name,
            dense_name,
        ),
        width="stretch",
    )
