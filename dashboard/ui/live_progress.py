"""The live run's progress bar and last epoch's metrics, as the Train page redraws
them every second, and when that page's 1-second fragment should rerun the whole page.

Streamlit's st.progress animates every change with a CSS transition; redrawn each
second beside a training run, that animation cost the browser ~75 ms of CPU per
second (3% of training speed when browser and server share 2 cores, as in
bench/train_throughput.py). This bar is a plain, accessible HTML element instead.
"""

from __future__ import annotations

import html

from dashboard.data.limits import count_text
from dashboard.training import ACTIVE_STATUSES, RunView
from dashboard.training.run import RunStatus
from dashboard.training.run_compare import format_seconds, metric_text

BAR_COLOR = "#e4572e"  # the training colour of the charts
TRACK_COLOR = "rgba(151, 166, 195, 0.25)"


def progress_text(view: RunView) -> str:
    """E.g. 'Epoch 2 of 4 · batch 17 of 422 · 5,120 images/s · about 31 s left'."""
    if view.status not in ACTIVE_STATUSES:
        n = len(view.history)
        return f"{count_text(n, 'epoch')} in {format_seconds(view.elapsed)}"
    text = f"Epoch {min(view.epoch + 1, view.epochs)} of {view.epochs}"
    if view.status != RunStatus.TRAINING:
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


EPOCH_METRICS = {
    "accuracy": "Training accuracy",
    "val_accuracy": "Validation accuracy",
    "loss": "Training loss",
    "val_loss": "Validation loss",
}


def epoch_metrics(row: dict[str, float]) -> list[tuple[str, str]]:
    """The metrics one epoch's history row has, as (label, value): '98.12%', '0.0612'."""
    return [
        (label, metric_text(row[key], key)) for key, label in EPOCH_METRICS.items() if key in row
    ]


def last_epoch_text(history: list[dict[str, float]]) -> str:
    """E.g. 'After epoch 3: training accuracy 98.12% · validation accuracy 98.40% ·
    training loss 0.0612 · validation loss 0.0551', or '' before the first epoch."""
    if not history:
        return ""
    metrics = " · ".join(f"{label.lower()} {value}" for label, value in epoch_metrics(history[-1]))
    return f"After epoch {len(history)}: {metrics}"


def last_epoch_html(history: list[dict[str, float]]) -> str:
    """last_epoch_text as a line under the progress bar ('' before the first epoch)."""
    text = last_epoch_text(history)
    return (
        f'<p style="font-size:0.875rem;margin:0.5rem 0 0">{html.escape(text)}</p>' if text else ""
    )


# --- when the 1-second fragment reruns the whole page -------------------------------
# Every element the fragment sends is rendered again in the browser each second, and
# when browser and server share 2 cores that is taken from training. So the fragment
# sends only what moves: the progress bar, the last epoch's metrics as a line of
# text, and the live charts (live_charts.py). Full page runs draw the rest (heading,
# notes, Stop), and the fragment reruns the page when that is out of date. A new
# epoch alone does not: a full run cost the browser ~0.4 s of CPU, early in the
# next epoch.


def page_drawn(view: RunView) -> tuple[str, str, int]:
    """What of the live run a full page run shows: its id, status and notes."""
    return view.id, view.status, len(view.notes)


def page_out_of_date(drawn: tuple[str, str, int] | None, view: RunView) -> bool:
    """True when the fragment should rerun the whole page: another run, status or note."""
    return drawn != page_drawn(view)
