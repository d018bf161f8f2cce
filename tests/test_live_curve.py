"""The per-batch curve: its series (shared by the live canvas and the Plotly chart) and
what the live canvas is sent."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dashboard import charts, live_curve


def batches(values, metric="loss"):
    return [{"step": i + 1, "epoch": 1, metric: float(v)} for i, v in enumerate(values)]


def test_series_is_each_batchs_value_and_a_trailing_average():
    series = charts.batch_series(batches([4, 2, 6, 0] * 25))
    assert series.window == 10  # a tenth of the batches, at most 50
    assert series.steps.tolist() == list(range(1, 101))
    assert series.values[:4].tolist() == [4, 2, 6, 0]
    assert series.average[:3].tolist() == [4, 3, 4]  # the mean of what came so far
    assert series.average[-1] == pytest.approx(np.mean(series.values[-10:]))


def test_a_long_run_is_thinned_but_averaged_over_every_batch_and_keeps_the_latest():
    values = np.arange(2500, dtype=float)
    series = charts.batch_series(batches(values), max_points=1000)
    assert len(series.steps) <= 1001
    assert series.steps[-1] == 2500  # the latest batch is always drawn
    assert series.window == 50
    # Each drawn average is the mean of the 50 batches up to it, not of 50 drawn points.
    assert series.average[-1] == pytest.approx(values[-50:].mean())
    shown = series.steps.astype(int) - 1
    assert series.average.tolist() == pytest.approx(
        [values[max(0, i - 49) : i + 1].mean() for i in shown]
    )


def test_the_plotly_chart_and_the_live_canvas_draw_the_same_series():
    log = batches(np.linspace(2.3, 0.1, 300))
    figure = charts.batch_curve_figure(log)
    data = live_curve.live_curve_data(log)
    assert list(figure.data[0].x) == data["x"]
    assert list(figure.data[1].y) == pytest.approx(data["average"], rel=1e-4)
    assert figure.data[1].name == data["average_name"] == "average of 30 batches"


def test_live_data_labels_and_summary_say_what_the_curve_shows():
    data = live_curve.live_curve_data(batches([0.5, 0.25, 0.125]))
    assert data["title"] == "Training loss per batch (live)"
    assert data["y_title"] == "Loss" and not data["percent"]
    assert data["summary"] == (
        "Training loss per batch, 3 batches so far: last batch 0.1250, "
        "average 0.1250 over the last 1 batch."
    )
    accuracy = live_curve.live_curve_data(batches([0.5, 0.75], "accuracy"), "accuracy")
    assert accuracy["percent"] and "last batch 75.0%" in accuracy["summary"]
    assert live_curve.live_curve_data([])["summary"] == "Training loss per batch: no batches yet."


def test_live_data_stays_small_on_a_long_run():
    data = live_curve.live_curve_data(batches(np.random.default_rng(0).random(50_000)))
    assert len(data["x"]) <= live_curve.MAX_POINTS + 1
    assert "50,000 batches so far" in data["summary"]
    assert all(len(repr(v)) <= 9 for v in data["y"][:100])  # 5 significant digits


def test_a_loss_that_turns_nan_or_infinite_is_sent_as_gaps_in_valid_json():
    data = live_curve.live_curve_data(batches([0.5, float("nan"), float("inf"), 0.25]))
    assert data["y"] == [0.5, None, None, 0.25]
    json.dumps(data, allow_nan=False)  # the browser parses strict JSON
