"""The one place that reads and writes st.session_state.

Pages and other modules ask here for the current spec, dataset and runs, so
the keys and their defaults live in one file.
"""

from __future__ import annotations

import streamlit as st

from dashboard.datasets import Dataset
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


# --- convolution explorer -------------------------------------------------------

# --- classify -------------------------------------------------------------------
