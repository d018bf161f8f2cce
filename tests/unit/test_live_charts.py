"""The live charts of a training run: the per-batch series (shared by the live canvas
and the Plotly chart) and what the canvases are sent."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dashboard.ui import batch_series, live_charts, run_charts


def batches(values, metric="loss"):
    return [{"step": i + 1, "epoch": 1, metric: float(v)} for i, v in enumerate(values)]


def test_series_is_each_batchs_value_and_a_trailing_average():
    series = batch_series.batch_series(batches([4, 2, 6, 0] * 25))
    assert series.window == 10  # a tenth of the batches, at most 50
    assert series.steps.tolist() == list(range(1, 101))
    assert series.values[:4].tolist() == [4, 2, 6, 0]
    assert series.average[:3].tolist() == [4, 3, 4]  # the mean of what came so far
    assert series.average[-1] == pytest.approx(np.mean(series.values[-10:]))


def test_a_long_run_is_thinned_but_averaged_over_every_batch_and_keeps_the_latest():
    values = np.arange(2500, dtype=float)
    series = batch_series.batch_series(batches(values), max_points=1000)
    assert len(series.steps) <= 1001
    assert series.steps[-1] == 2500  # the latest batch is always drawn
    assert series.window == 50
    # Each drawn average is the mean of the 50 batches up to it, not of 50 drawn points.
    assert series.average[-1] == pytest.approx(values[-50:].mean())
    shown = series.steps.astype(int) - 1
    assert series.average.tolist() == pytest.approx(
        [values[max(0, i - 49) : i + 1].mean() for i in shown]
    )


class Unreadable(dict):
    """A batch that fails if it is converted again."""

    def __getitem__(self, key):
        raise AssertionError(f"batch {dict.get(self, 'step')} converted twice")


def test_kept_columns_convert_only_the_new_batches_and_give_the_same_curve():
    log = batches(np.linspace(2.3, 0.1, 700))
    columns = batch_series.BatchColumns("loss")
    batch_series.batch_series(log[:400], columns=columns)
    # The next redraw: the first 399 batches are not read again (the 400th, the
    # same object as before, tells that it is the same run's list).
    seen = [Unreadable(b) for b in log[:399]] + log[399:]
    kept = batch_series.batch_series(seen, max_points=100, columns=columns)
    fresh = batch_series.batch_series(log, max_points=100)
    assert kept.steps.tolist() == fresh.steps.tolist()
    assert kept.values.tolist() == fresh.values.tolist()
    assert kept.average.tolist() == pytest.approx(fresh.average.tolist())
    assert kept.window == fresh.window == 50


def test_kept_columns_start_again_for_another_list_of_batches():
    columns = batch_series.BatchColumns("loss")
    batch_series.batch_series(batches([5, 5, 5, 5]), columns=columns)
    # A mirrored run that trains anew: its own batches, as many or fewer, same steps.
    for values in ([1, 2, 3, 4, 6], [1, 2]):
        series = batch_series.batch_series(batches(values), columns=columns)
        assert series.values.tolist() == values
    with pytest.raises(ValueError, match="accuracy"):
        batch_series.batch_series(batches([1]), "accuracy", columns=columns)


def test_values_sent_to_the_canvas_keep_five_digits_and_stay_valid_json():
    sent = live_charts._rounded([0.123456789, 98765.4321, 123456.7, -0.0, None, float("inf")])
    assert sent == [0.12346, 98765.0, 123460.0, 0.0, None, None]
    extremes = live_charts._rounded([5e-320, 1.7e308, -2.5e-300])
    assert json.dumps(extremes, allow_nan=False) == "[5e-320, 1.7e+308, -2.5e-300]"


def test_the_plotly_chart_and_the_live_canvas_draw_the_same_series():
    log = batches(np.linspace(2.3, 0.1, 300))
    figure = run_charts.batch_curve_figure(log)
    data = live_charts.batch_panel(log)
    each, average = data["series"]
    assert list(figure.data[0].x) == data["x"]
    assert list(figure.data[0].y) == pytest.approx(each["values"], rel=1e-4)
    assert list(figure.data[1].y) == pytest.approx(average["values"], rel=1e-4)
    assert figure.data[1].name == average["name"] == "average of 30 batches"


def test_live_data_labels_and_summary_say_what_the_curve_shows():
    data = live_charts.batch_panel(batches([0.5, 0.25, 0.125]))
    assert data["title"] == "Training loss per batch (live)"
    assert data["y_title"] == "Loss" and not data["percent"]
    assert data["summary"] == (
        "Training loss per batch, 3 batches so far: last batch 0.1250, "
        "average 0.1250 over the last 1 batch."
    )
    accuracy = live_charts.batch_panel(batches([0.5, 0.75], "accuracy"), "accuracy")
    assert accuracy["percent"] and "last batch 75.00%" in accuracy["summary"]
    empty = live_charts.batch_panel([])
    assert empty["summary"] == "Training loss per batch: no batches yet."
    assert empty["empty"] == "The curve appears after the first batch."


def test_live_data_stays_small_on_a_long_run():
    data = live_charts.batch_panel(batches(np.random.default_rng(0).random(50_000)))
    assert len(data["x"]) <= live_charts.MAX_POINTS + 1
    assert "50,000 batches so far" in data["summary"]
    each = data["series"][0]["values"]
    assert all(len(repr(v)) <= 9 for v in each[:100])  # 5 significant digits


def test_a_loss_that_turns_nan_or_infinite_is_sent_as_gaps_in_valid_json():
    data = live_charts.batch_panel(batches([0.5, float("nan"), float("inf"), 0.25]))
    assert data["series"][0]["values"] == [0.5, None, None, 0.25]
    json.dumps(data, allow_nan=False)  # the browser parses strict JSON


HISTORY = [
    {"epoch": 1, "loss": 0.9, "accuracy": 0.7, "val_loss": 0.8, "val_accuracy": 0.75},
    {"epoch": 2, "loss": 0.4, "accuracy": 0.9, "val_loss": float("nan"), "val_accuracy": 0.875},
]


def test_the_epoch_canvases_draw_what_the_plotly_chart_draws_once_the_run_ends():
    figure = run_charts.epoch_curves_figure(HISTORY)
    for metric, traces in (("loss", figure.data[:2]), ("accuracy", figure.data[2:])):
        panel = live_charts.epoch_panel(HISTORY, metric)
        assert panel["x"] == [1, 2] == list(traces[0].x)
        assert [line["name"] for line in panel["series"]] == [t.name for t in traces]
        for line, trace in zip(panel["series"], traces, strict=True):
            assert line["color"] == trace.line.color
            expected = [v if v == v else None for v in trace.y]  # NaN is a gap
            assert line["values"] == pytest.approx(expected)
    loss = live_charts.epoch_panel(HISTORY, "loss")
    assert loss["summary"].endswith("training 0.4000, validation not a number after epoch 2.")
    json.dumps(loss, allow_nan=False)


def test_epoch_summaries_say_the_latest_values_and_the_empty_canvas_says_when_they_come():
    accuracy = live_charts.epoch_panel(HISTORY, "accuracy")
    assert accuracy["summary"] == (
        "Accuracy per epoch, 2 epochs so far: training 90.00%, validation 87.50% after epoch 2."
    )
    no_validation = [{"epoch": 1, "loss": 0.5, "accuracy": 0.8}]
    loss = live_charts.epoch_panel(no_validation, "loss")
    assert [line["name"] for line in loss["series"]] == ["training"]
    assert loss["summary"] == "Loss per epoch, 1 epoch so far: training 0.5000 after epoch 1."
    empty = live_charts.epoch_panel([], "loss")
    assert empty["summary"] == "Loss per epoch: no epochs yet." and empty["x"] == []
    assert empty["empty"] == "Each epoch's loss appears here when the epoch ends."


def test_the_vendored_chart_library_is_the_pinned_version_with_its_licence():
    banner = (live_charts.UPLOT / "uPlot.iife.min.js").read_text(encoding="utf-8")[:80]
    assert f"(v{live_charts.UPLOT_VERSION})" in banner
    assert "MIT License" in (live_charts.UPLOT / "LICENSE").read_text(encoding="utf-8")


def test_one_batch_is_said_in_the_singular():
    data = live_charts.batch_panel(batches([0.5]))
    assert data["summary"].startswith("Training loss per batch, 1 batch so far: ")
    assert data["series"][1]["name"] == "average of 1 batch"


@pytest.mark.parametrize(("epochs", "step"), [(3, 1), (30, 5), (200, 50)])
def test_the_runs_overlay_reads_whole_epochs_from_1_with_its_legend_below(epochs, step):
    history = [{"epoch": e, "loss": 1 / e, "val_loss": 1.1 / e} for e in range(1, epochs + 1)]
    runs = [(f"run {i}: a long label for a run with a long name", history) for i in range(5)]
    fig = run_charts.overlay_figure(runs, "loss")
    axis = fig.layout.xaxis
    assert tuple(axis.range) == (0.5, epochs + 0.5)  # epoch 1 first, no epoch 0 or -1
    assert axis.dtick == step and axis.tickangle == 0 and axis.tickformat == "d"
    assert epochs / step <= 8  # about eight labels at most: they never overlap
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.y < 0
