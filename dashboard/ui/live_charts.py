"""The charts of a run while it trains: one light component of three uPlot charts.

The Train page redraws the live run every second. A changed Plotly chart is rebuilt
completely in the browser each time: ~110 ms of CPU per second, the largest part of
the browser's work while a run trains (and taken from training when the browser
shares the server's cores). This component draws the per-batch curve and the loss
and accuracy per epoch with uPlot (vendored in vendor/uplot, MIT, version pinned in
its banner), which redraws from new data in well under a millisecond and keeps the
user's zoom and hover across updates; live_charts.js only maps our panels onto it.

It also spares the page a full rerun at each epoch's end, which cost the browser
~0.4 s of CPU early in the next epoch. Once the run ends, the page shows the
interactive Plotly charts (run_charts.batch_curve_figure, run_charts.epoch_curves_figure).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from dashboard.data.limits import count_text
from dashboard.training.run_compare import metric_text
from dashboard.ui.batch_series import BatchColumns, batch_series
from dashboard.ui.run_charts import METRIC_TITLES, TRAIN_COLOR, VAL_COLOR

MAX_POINTS = 1000  # about one per pixel of a wide chart
BATCH_HEIGHT_PX, EPOCH_HEIGHT_PX = 300, 260
NO_BATCHES_YET = "The curve appears after the first batch."
NO_EPOCHS_YET = "Each epoch's {} appears here when the epoch ends."

HERE = Path(__file__).parent
UPLOT = HERE / "vendor" / "uplot"
UPLOT_VERSION = "1.6.32"


def _panel(name: str, height: int, grow: bool = False) -> str:
    """One chart's element: uPlot draws inside it; its text says what it shows."""
    flex = "flex:1;min-width:0;" if grow else ""
    return (
        f'<div data-panel="{name}" role="img" style="{flex}min-height:{height}px">'
        '<p class="empty" hidden></p></div>'
    )


_component = st.components.v2.component(
    "cnnlab_live_run_charts",
    html=(
        _panel("batch", BATCH_HEIGHT_PX)
        + '<div style="display:flex;gap:1rem;margin-top:0.5rem">'
        + "".join(_panel(metric, EPOCH_HEIGHT_PX, grow=True) for metric in ("loss", "accuracy"))
        + "</div>"
    ),
    # Lines, not one line: Streamlit takes a one-line string for a file path.
    css="\n".join(
        [
            (UPLOT / "uPlot.min.css").read_text(encoding="utf-8"),
            ".empty{margin:0;padding-top:2rem;text-align:center;opacity:.7;font-size:.9rem}",
            ".u-title{font-size:.95rem;font-weight:500}.u-legend{font-size:.8rem}",
        ]
    ),
    js=(UPLOT / "uPlot.iife.min.js").read_text(encoding="utf-8")
    + "\n"
    + (HERE / "live_charts.js").read_text(encoding="utf-8"),
)


def _rounded(values: Any) -> list[float | None]:
    """Five significant digits (the curve looks the same and the message is ~3× smaller),
    and None for NaN, infinity or a missing value, which JSON cannot carry; the canvas
    leaves a gap. In NumPy: formatting each number took ~2.5 ms of every redraw."""
    v = np.array([math.nan if x is None else x for x in values], dtype=float)
    finite = np.isfinite(v)
    # Where the powers of ten below stay finite; the rare values beyond (no loss comes
    # near) are sent as they are.
    ordinary = finite & (np.abs(v) > 1e-280) & (np.abs(v) < 1e280)
    decimals = np.zeros(len(v), dtype=int)  # negative above 99,999
    decimals[ordinary] = 4 - np.floor(np.log10(np.abs(v[ordinary]))).astype(int)
    # Dividing by an exact power of ten (up to 1e22: values from 1e-18 to 1e26) gives
    # the double nearest the decimal, which JSON writes with no more digits than it has.
    up, down = 10.0 ** np.maximum(decimals, 0), 10.0 ** np.maximum(-decimals, 0)
    rounded = np.where(ordinary, np.round(v * up / down) * down / up, v).tolist()
    return [r if ok else None for r, ok in zip(rounded, finite.tolist(), strict=True)]


def _line(name: str, hover: str, values: Any, color: str, **style: Any) -> dict[str, Any]:
    """One curve: its legend name, its name in the hover text, and how it is drawn."""
    line = {"name": name, "hover": hover, "values": _rounded(values), "color": color}
    return line | {"width": 2, "alpha": 1, "markers": False} | style


def batch_panel(
    batches: list[dict[str, float]], metric: str = "loss", columns: BatchColumns | None = None
) -> dict[str, Any]:
    """The per-batch curve: each batch's value and its moving average, with a one-line
    summary that is also the canvas's accessible name. `columns` keeps the batches
    converted for the last redraw (see batch_series.BatchColumns)."""
    series = batch_series(batches, metric, MAX_POINTS, columns)
    name = METRIC_TITLES.get(metric, metric).lower()
    average = f"average of {count_text(series.window, 'batch', 'batches')}"
    if len(series.values):
        last, mean = (metric_text(v[-1], metric) for v in (series.values, series.average))
        summary = (
            f"Training {name} per batch, {count_text(len(batches), 'batch', 'batches')} so far: "
            f"last batch {last}, "
            f"average {mean} over the last {count_text(series.window, 'batch', 'batches')}."
        )
    else:
        summary = f"Training {name} per batch: no batches yet."
    return {
        "title": f"Training {name} per batch (live)",
        "height": BATCH_HEIGHT_PX,
        "x_title": "batch (training step)",
        "y_title": METRIC_TITLES.get(metric, metric),
        "x_name": "batch",
        "x_plural": "batches",
        "percent": metric == "accuracy",
        "integer_x": True,
        "summary": summary,
        "empty": NO_BATCHES_YET,
        "x": [int(s) for s in series.steps],
        "series": [
            _line(f"each batch's {name}", "", series.values, TRAIN_COLOR, width=1, alpha=0.35),
            _line(average, "average", series.average, TRAIN_COLOR, width=2.5),
        ],
    }


def epoch_panel(history: list[dict[str, float]], metric: str) -> dict[str, Any]:
    """Training against validation `metric` per epoch, as run_charts.epoch_curves_figure
    draws it once the run ends."""
    title = METRIC_TITLES.get(metric, metric)
    lines, latest = [], []
    for prefix, name, color in (("", "training", TRAIN_COLOR), ("val_", "validation", VAL_COLOR)):
        values = [row.get(prefix + metric) for row in history]
        if any(v is not None for v in values):
            lines.append(_line(name, name, values, color, markers=True))
            if values[-1] is not None:
                latest.append(f"{name} {metric_text(values[-1], metric)}")
    if history:
        count = count_text(len(history), "epoch")
        summary = (
            f"{title} per epoch, {count} so far: {', '.join(latest)} after epoch {len(history)}."
        )
    else:
        summary = f"{title} per epoch: no epochs yet."
    return {
        "title": f"{title} per epoch",
        "height": EPOCH_HEIGHT_PX,
        "x_title": "epoch",
        "y_title": title,
        "x_name": "epoch",
        "x_plural": "epochs",
        "percent": metric == "accuracy",
        "integer_x": True,
        "summary": summary,
        "empty": NO_EPOCHS_YET.format(title.lower()),
        "x": [int(row["epoch"]) for row in history],
        "series": lines,
    }


def live_run_charts(
    run_id: str,
    batches: list[dict[str, float]],
    history: list[dict[str, float]],
    columns: BatchColumns | None = None,
) -> None:
    """Draw run `run_id`'s live charts on the page; `columns` are its batches as
    converted for the last redraw (state.live_batch_columns)."""
    data = {
        "batch": batch_panel(batches, columns=columns),
        "loss": epoch_panel(history, "loss"),
        "accuracy": epoch_panel(history, "accuracy"),
    }
    # One component per run: another run starts with fresh, unzoomed canvases.
    _component(data=data, key=f"live_charts_{run_id}")
