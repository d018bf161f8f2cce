"""The one place that reads and writes st.session_state.

Pages and other modules ask here for the current spec, dataset and runs, so
the keys and their defaults live in one file.
"""

from __future__ import annotations

import streamlit as st

from dashboard.presets import load_preset
from dashboard.spec import ModelSpec

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

# --- runs ---------------------------------------------------------------------

# --- convolution explorer -------------------------------------------------------

# --- classify -------------------------------------------------------------------
