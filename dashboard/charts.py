"""Plotly figure builders: pure functions of data, so tests check figures as data.

Sections by page; each builder returns a go.Figure and touches no session state.
"""

from __future__ import annotations

import plotly.graph_objects as go  # noqa: F401 - used by every section below

# --- build page ---------------------------------------------------------------

# --- data page ----------------------------------------------------------------

# --- training and run comparison -------------------------------------------------

# --- evaluation ---------------------------------------------------------------

# --- convolution explorer ----------------------------------------------------------

# --- classify / model internals ----------------------------------------------------
