"""The one place that reads and writes st.session_state.

Pages and other modules ask here for the current spec, dataset and runs, so
the keys and their defaults live in one file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from dashboard.datasets import Dataset
from dashboard.presets import load_preset
from dashboard.spec import ModelSpec
from dashboard.training import Run

if TYPE_CHECKING:
    from dashboard.inference import Classifier

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


# --- convolution explorer -------------------------------------------------------

# --- classify -------------------------------------------------------------------
UPLOADED_MODEL_KEY = "classify_uploaded_model"


def get_uploaded_model(file_id: str) -> Classifier | None:
    """The model this session uploaded on the Classify page, if it is still file `file_id`."""
    stored = st.session_state.get(UPLOADED_MODEL_KEY)
    return stored[1] if stored and stored[0] == file_id else None


def set_uploaded_model(file_id: str, classifier: Classifier) -> None:
    """Keep one uploaded model per session (a new upload replaces the old one)."""
    st.session_state[UPLOADED_MODEL_KEY] = (file_id, classifier)
