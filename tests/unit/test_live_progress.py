"""The live run's progress line and bar (plain HTML, no animation)."""

from __future__ import annotations

from dashboard.training import RunView
from dashboard.ui.live_progress import progress_bar_html, progress_text


def view(**changes) -> RunView:
    base = dict(
        id="abc123", status="training", history=[], batches=[], epoch=1, epochs=4, step=17,
        steps_per_epoch=422, images_per_s=5120.4, eta_seconds=31.0, queue_position=None,
        elapsed=12.0, error=None, notes=[],
    )  # fmt: skip
    return RunView(**{**base, **changes})


def test_a_training_run_shows_epoch_batch_speed_and_time_left():
    text = progress_text(view())
    assert text.startswith("Epoch 2 of 4 · batch 17 of 422 · 5,120 images/s · about ")
    assert text.endswith(" left")


def test_a_queued_run_shows_only_its_epoch_and_a_finished_one_its_total():
    assert progress_text(view(status="queued", epoch=0, step=0)) == "Epoch 1 of 4"
    one = progress_text(view(status="done", history=[{"epoch": 1}]))
    assert one.startswith("1 epoch in ")
    assert progress_text(view(status="stopped", history=[{}, {}])).startswith("2 epochs in ")


def test_the_bar_is_accessible_clamped_and_escapes_its_text():
    bar = progress_bar_html(0.25, "Epoch <1> & more")
    assert 'role="progressbar"' in bar and 'aria-valuenow="25"' in bar
    assert "width:25.0%" in bar
    assert "Epoch &lt;1&gt; &amp; more" in bar and "<1>" not in bar
    assert 'aria-valuenow="100"' in progress_bar_html(1.7, "")
    assert "width:0.0%" in progress_bar_html(-1, "")


def test_the_page_reruns_for_a_new_status_note_or_run_but_not_for_a_new_epoch():
    from dashboard.ui.live_progress import page_drawn, page_out_of_date

    drawn = page_drawn(view(history=[{"epoch": 1}]))
    # The fragment's canvases and metrics line show new epochs without a full page run.
    assert not page_out_of_date(drawn, view(history=[{"epoch": 1}, {"epoch": 2}]))
    for changed in (
        view(status="stopped", history=[{"epoch": 1}]),
        view(notes=["Trains on 2 devices."], history=[{"epoch": 1}]),
        view(id="def456", history=[{"epoch": 1}]),
    ):
        assert page_out_of_date(drawn, changed), changed
    assert page_out_of_date(None, view())  # nothing drawn yet


def test_the_last_epoch_line_gives_each_metric_it_has():
    from dashboard.ui.live_progress import last_epoch_html, last_epoch_text

    assert last_epoch_text([]) == "" and last_epoch_html([]) == ""
    history = [
        {"epoch": 1, "accuracy": 0.5, "loss": 1.0},
        {"epoch": 2, "accuracy": 0.98125, "loss": 0.0612, "val_accuracy": 0.984, "val_loss": 0.05},
    ]
    assert last_epoch_text(history) == (
        "After epoch 2: training accuracy 98.12% · validation accuracy 98.40% · "
        "training loss 0.0612 · validation loss 0.0500"
    )
    assert (
        last_epoch_text(history[:1])
        == "After epoch 1: training accuracy 50.00% · training loss 1.0000"
    )
    assert "After epoch 2: training accuracy 98.12%" in last_epoch_html(history)
    # A run that failed on a NaN loss: said in words, as the canvases' hover says it.
    diverged = [{"epoch": 1, "accuracy": 0.1, "loss": float("nan")}]
    assert last_epoch_text(diverged).endswith("training loss not a number")
