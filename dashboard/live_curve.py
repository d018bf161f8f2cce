"""The per-batch curve of a run while it trains: a small canvas component.

The Train page redraws the live run every second. A changed Plotly chart is rebuilt
completely in the browser each time: ~110 ms of CPU per second, the largest part of
the browser's work while a run trains (and taken from training when the browser
shares the server's cores). This component draws the same two curves on a canvas
(live_curve.js) in well under a millisecond, and keeps the user's zoom and hover
across updates. Once the run ends, the page shows the interactive Plotly chart
(charts.batch_curve_figure).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from dashboard.charts import METRIC_TITLES, batch_series

MAX_POINTS = 1000  # about one per pixel of a wide chart
HEIGHT_PX = 300

_component = st.components.v2.component(
    "cnnlab_live_batch_curve",
    html=f'<canvas role="img" style="display:block;width:100%;height:{HEIGHT_PX}px"></canvas>',
    js=(Path(__file__).with_name("live_curve.js")).read_text(encoding="utf-8"),
)


def _rounded(values: np.ndarray) -> list[float | None]:
    """Five significant digits (the curve looks the same and the message is ~3× smaller),
    and None for NaN or infinity, which JSON cannot carry; the canvas leaves a gap."""
    return [float(f"{v:.5g}") if math.isfinite(v) else None for v in values]


def live_curve_data(batches: list[dict[str, float]], metric: str = "loss") -> dict[str, Any]:
    """What live_curve.js draws: each batch's value, its moving average, and the
    labels, with a one-line summary that is also the canvas's accessible name."""
    series = batch_series(batches, metric, MAX_POINTS)
    name = METRIC_TITLES.get(metric, metric).lower()
    percent = metric == "accuracy"
    if len(series.values):
        last = series.values[-1]
        average = series.average[-1]
        shown = (lambda v: f"{v:.1%}") if percent else (lambda v: f"{v:.4f}")
        summary = (
            f"Training {name} per batch, {len(batches):,} batches so far: last batch "
            f"{shown(last)}, average {shown(average)} over the last {series.window} "
            f"batch{'es' if series.window > 1 else ''}."
        )
    else:
        summary = f"Training {name} per batch: no batches yet."
    return {
        "title": f"Training {name} per batch (live)",
        "x_title": "batch (training step)",
        "y_title": METRIC_TITLES.get(metric, metric),
        "percent": percent,
        "x": [int(s) for s in series.steps],
        "y": _rounded(series.values),
        "average": _rounded(series.average),
        "each_name": f"each batch's {name}",
        "average_name": f"average of {series.window} batches",
        "summary": summary,
    }


def live_batch_curve(run_id: str, batches: list[dict[str, float]], metric: str = "loss") -> None:
    """Draw the live per-batch curve of run `run_id` on the page."""
    # One component per run: another run starts with a fresh, unzoomed canvas.
    _component(data=live_curve_data(batches, metric), key=f"live_curve_{run_id}")
