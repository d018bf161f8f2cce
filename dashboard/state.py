"""The one place that reads and writes st.session_state.

Pages and other modules ask here for the current spec, dataset and runs, so
the keys and their defaults live in one file.
"""

from __future__ import annotations

import streamlit as st

from dashboard.datasets import DEFAULT_DATASET, Dataset, load_builtin
from dashboard.limits import MAX_UPLOADS_PER_SESSION
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


def get_dataset_or_default() -> Dataset:
    """The chosen dataset, or the offline default (digits 28×28) so a page can always train."""
    dataset = get_dataset()
    if dataset is None:
        dataset = load_builtin(DEFAULT_DATASET)
        set_dataset(dataset)
    return dataset


UPLOADS_KEY = "uploaded_datasets"


def get_uploads() -> dict[str, Dataset]:
    """This session's uploaded datasets by name, oldest first. Only this session sees them."""
    return dict(st.session_state.get(UPLOADS_KEY, {}))


def add_upload(dataset: Dataset) -> None:
    """Keep an upload in this session (replacing one of the same name); the oldest goes
    once there are more than limits.MAX_UPLOADS_PER_SESSION."""
    uploads = st.session_state.setdefault(UPLOADS_KEY, {})
    uploads.pop(dataset.name, None)
    uploads[dataset.name] = dataset
    while len(uploads) > MAX_UPLOADS_PER_SESSION:
        uploads.pop(next(iter(uploads)))


DATA_NOTICE_KEY = "data_notice"


def set_data_notice(where: str, kind: str, text: str) -> None:
    """A message for the Data page's next run, shown under the button `where` ('pick' or
    'upload'); kind is 'error', 'warning' or 'success'. Button callbacks set it."""
    st.session_state[DATA_NOTICE_KEY] = (where, kind, text)


def pop_data_notice(where: str) -> tuple[str, str] | None:
    """(kind, text) of the notice for `where`, shown once."""
    notice = st.session_state.get(DATA_NOTICE_KEY)
    if notice is None or notice[0] != where:
        return None
    del st.session_state[DATA_NOTICE_KEY]
    return notice[1], notice[2]


# --- runs ---------------------------------------------------------------------
RUNS_KEY = "runs"


def get_runs() -> list[Run]:
    """This browser session's runs, newest first."""
    return list(reversed(st.session_state.get(RUNS_KEY, {}).values()))


def add_run(run: Run) -> None:
    st.session_state.setdefault(RUNS_KEY, {})[run.id] = run


# --- convolution explorer -------------------------------------------------------

# --- classify -------------------------------------------------------------------
