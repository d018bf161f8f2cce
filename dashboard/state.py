"""The one place that reads and writes st.session_state.

Pages and other modules ask here for the current spec, dataset and runs, so
the keys and their defaults live in one file.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard.charts import confusion_cell_from_selection
from dashboard.datasets import Dataset
from dashboard.evaluation import Evaluation, evaluate_run
from dashboard.presets import load_preset
from dashboard.spec import ModelSpec
from dashboard.training import Run

SPEC_KEY = "spec"
BATCH_SIZE_KEY = "batch_size"
DEFAULT_PRESET = "default"


def get_spec() -> ModelSpec:
    """The model being built; starts as the default preset."""
    if SPEC_KEY not in st.session_state:
        st.session_state[SPEC_KEY] = load_preset(DEFAULT_PRESET)
    return st.session_state[SPEC_KEY]


def set_spec(spec: ModelSpec) -> None:
    st.session_state[SPEC_KEY] = spec


def get_batch_size() -> int:
    return int(st.session_state.get(BATCH_SIZE_KEY, 64))


# --- dataset --------------------------------------------------------------------
DATASET_KEY = "dataset"


def get_dataset() -> Dataset | None:
    """The dataset this session chose on the Data page, if any."""
    return st.session_state.get(DATASET_KEY)


def set_dataset(dataset: Dataset) -> None:
    st.session_state[DATASET_KEY] = dataset


# --- runs ---------------------------------------------------------------------
RUNS_KEY = "runs"


def get_runs() -> list[Run]:
    """This browser session's runs, newest first."""
    return list(reversed(st.session_state.get(RUNS_KEY, {}).values()))


def add_run(run: Run) -> None:
    st.session_state.setdefault(RUNS_KEY, {})[run.id] = run


# --- evaluation -------------------------------------------------------------------
# A run's evaluation never changes once it has a model, so it is computed once per
# run and kept in this session (runs are per session; no process-wide cache).
EVALUATIONS_KEY = "evaluations"
EVAL_RUN_KEY = "eval_run"
EVAL_MISTAKES_KEY = "eval_mistakes"


def evaluation_for(run: Run) -> Evaluation:
    """The run's test-set evaluation, computed on first use and then kept.

    Raises EvaluationError when the run cannot be evaluated.
    """
    cache: dict[str, tuple[Any, Evaluation]] = st.session_state.setdefault(EVALUATIONS_KEY, {})
    live = {r.id for r in get_runs()}
    for run_id in [k for k in cache if k not in live and k != run.id]:
        del cache[run_id]  # a deleted run's predictions would only hold memory
    cached = cache.get(run.id)
    # The model object is part of the key: a run given a new model is evaluated anew.
    if cached is None or cached[0] is not run.model:
        cache[run.id] = (run.model, evaluate_run(run))
    return cache[run.id][1]


def confusion_chart_key(run_id: str) -> str:
    return f"eval_confusion_{run_id}"


def confusion_cell_keys(run_id: str) -> tuple[str, str]:
    """Widget keys of the (true class, predicted class) selectboxes of a run's matrix."""
    return f"eval_true_{run_id}", f"eval_pred_{run_id}"


def init_confusion_cell(run_id: str, cell: tuple[int, int]) -> None:
    """Start a run's cell selectboxes at `cell` unless the user already chose one."""
    for key, value in zip(confusion_cell_keys(run_id), cell, strict=True):
        st.session_state.setdefault(key, value)


def select_confusion_cell(run_id: str, num_classes: int) -> None:
    """on_select callback of the confusion chart: move the cell selectboxes to the clicked cell."""
    event = st.session_state.get(confusion_chart_key(run_id)) or {}
    cell = confusion_cell_from_selection(event.get("selection"), num_classes)
    if cell is not None:
        for key, value in zip(confusion_cell_keys(run_id), cell, strict=True):
            st.session_state[key] = value


# --- convolution explorer -------------------------------------------------------

# --- classify -------------------------------------------------------------------
