"""The live run's progress line and bar (plain HTML, no animation)."""

from __future__ import annotations

from dashboard.live_progress import progress_bar_html, progress_text
from dashboard.training import RunView


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


def test_the_page_redraws_at_once_for_a_new_status_or_the_first_epoch_and_every_few_seconds_after():
    from dashboard.live_progress import EPOCH_REDRAW_SECONDS, page_drawn, page_out_of_date

    drawn = page_drawn(view(history=[{"epoch": 1}]), now=100.0)
    soon, later = 100.0 + EPOCH_REDRAW_SECONDS / 2, 100.0 + EPOCH_REDRAW_SECONDS
    assert not page_out_of_date(drawn, view(history=[{"epoch": 1}]), later)  # nothing new
    two = view(history=[{"epoch": 1}, {"epoch": 2}])
    assert not page_out_of_date(drawn, two, soon)  # new, but the page ran moments ago
    assert page_out_of_date(drawn, two, later)
    # Another status, note or run, or nothing drawn yet: at once.
    for changed in (
        view(status="stopped", history=[{"epoch": 1}]),
        view(notes=["Trains on 2 devices."], history=[{"epoch": 1}]),
        view(id="def456", history=[{"epoch": 1}]),
    ):
        assert page_out_of_date(drawn, changed, soon), changed
    assert page_out_of_date(None, two, soon)
    # The first epoch at once: until then the chart says the points come when it ends.
    assert page_out_of_date(page_drawn(view(), now=100.0), view(history=[{"epoch": 1}]), soon)
