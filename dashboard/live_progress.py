"""The live run's progress line and bar, as the Train page redraws them every second,
and when that page's 1-second fragment should rerun the whole page.

Streamlit's st.progress animates every change with a CSS transition; redrawn each
second beside a training run, that animation cost the browser ~75 ms of CPU per
second (3% of training speed when browser and server share 2 cores, as in
bench/train_throughput.py). This bar is a plain, accessible HTML element instead.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from dashboard.run_compare import format_seconds
from dashboard.training import ACTIVE_STATUSES, RunView

BAR_COLOR = "#e4572e"  # the training colour of the charts
TRACK_COLOR = "rgba(151, 166, 195, 0.25)"


def progress_text(view: RunView) -> str:
    """E.g. 'Epoch 2 of 4 · batch 17 of 422 · 5,120 images/s · about 31 s left'."""
    if view.status not in ACTIVE_STATUSES:
        n = len(view.history)
        return f"{n} epoch{'s' if n != 1 else ''} in {format_seconds(view.elapsed)}"
    text = f"Epoch {min(view.epoch + 1, view.epochs)} of {view.epochs}"
    if view.status != "training":
        return text
    if view.steps_per_epoch:
        text += f" · batch {view.step} of {view.steps_per_epoch}"
    if view.images_per_s:
        text += f" · {view.images_per_s:,.0f} images/s"
    if view.eta_seconds is not None:
        text += f" · about {format_seconds(view.eta_seconds)} left"
    return text


def progress_bar_html(fraction: float, text: str) -> str:
    """A progress bar (0..1) with its text above it, without any animation."""
    percent = max(0.0, min(1.0, fraction)) * 100
    label = html.escape(text)
    return (
        f'<div role="progressbar" aria-valuemin="0" aria-valuemax="100" '
        f'aria-valuenow="{percent:.0f}" aria-label="{label}">'
        f'<div style="font-size:0.875rem;margin-bottom:0.25rem">{label}</div>'
        f'<div style="height:0.5rem;border-radius:0.25rem;background:{TRACK_COLOR}">'
        f'<div style="height:100%;width:{percent:.1f}%;border-radius:0.25rem;'
        f'background:{BAR_COLOR}"></div></div></div>'
    )


# --- what the 1-second fragment leaves to full page runs ---------------------------
# Every element the fragment sends is rendered again in the browser each second, and
# when browser and server share 2 cores that is taken from training: re-sending the
# per-epoch Plotly chart cost ~7-10% of training speed. So the fragment sends only
# what moves (progress bar, live curve). Full page runs draw the rest (heading,
# notes, Stop, epoch metrics and chart), and the fragment reruns the page when
# that is out of date.
EPOCH_REDRAW_SECONDS = 5.0  # at most this often for new epochs (small data: many a second)


@dataclass(frozen=True)
class PageDrawn:
    """What the Train page's last full run showed of its live run, and when."""

    run_id: str
    status: str
    notes: int
    epochs: int
    at: float


def page_drawn(view: RunView, now: float) -> PageDrawn:
    return PageDrawn(view.id, view.status, len(view.notes), len(view.history), now)


def page_out_of_date(drawn: PageDrawn | None, view: RunView, now: float) -> bool:
    """True when the fragment should rerun the whole page: at once for another run,
    status, note or the first epoch (the chart stops saying "when the epoch ends");
    for later epochs at most every EPOCH_REDRAW_SECONDS, because a full run costs the
    browser more than a fragment run."""
    if drawn is None or (drawn.run_id, drawn.status, drawn.notes) != (
        view.id,
        view.status,
        len(view.notes),
    ):
        return True
    if len(view.history) == drawn.epochs:
        return False
    return drawn.epochs == 0 or now - drawn.at >= EPOCH_REDRAW_SECONDS
