"""A run's batches as the per-batch curves draw them: each batch's value and a moving
average, thinned for the browser, converted once as a run goes (no Plotly here, so
session state can keep them cheaply)."""

from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter

import numpy as np


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of each value and up to `window - 1` before it."""
    sums = np.cumsum(values, dtype=float)
    out = sums.copy()
    out[window:] = sums[window:] - sums[:-window]
    return out / np.minimum(np.arange(1, len(values) + 1), window)


@dataclass(frozen=True)
class BatchSeries:
    """Each batch's own value of one metric and its moving average, thinned to about
    max_points; what both per-batch curves draw."""

    metric: str
    steps: np.ndarray
    values: np.ndarray
    average: np.ndarray
    window: int


class BatchColumns:
    """The steps and one metric of a run's batches as NumPy arrays, each batch
    converted once.

    The live per-batch curve is redrawn every second. Converting all the batches each
    time held the server's GIL ~21 ms per second at 84,400 batches (200 MNIST epochs),
    time taken from training; kept between redraws, only the new batches are converted.
    """

    def __init__(self, metric: str) -> None:
        self.metric = metric
        self.steps = np.empty(0)
        self.values = np.empty(0)
        self._last: dict[str, float] | None = None  # the last batch converted

    def update(self, batches: list[dict[str, float]]) -> None:
        """Catch up with `batches`, the same run's list with more batches at its end."""
        done = len(self.steps)
        if done and (len(batches) < done or batches[done - 1] is not self._last):
            # Another list: e.g. a run that mirrored another and then trained anew.
            done, self.steps, self.values = 0, self.steps[:0], self.values[:0]
        new = batches[done:]
        if not new:
            return
        self.steps = np.concatenate([self.steps, _column(new, "step")])
        self.values = np.concatenate([self.values, _column(new, self.metric)])
        self._last = new[-1]


def _column(batches: list[dict[str, float]], name: str) -> np.ndarray:
    return np.fromiter(map(itemgetter(name), batches), dtype=float, count=len(batches))


def batch_series(
    batches: list[dict[str, float]],
    metric: str = "loss",
    max_points: int = 3000,
    columns: BatchColumns | None = None,
) -> BatchSeries:
    """Each training batch's own loss (or accuracy), not Keras' running mean since the
    epoch began (which jumps at every epoch boundary), plus a moving average.

    `columns`, kept by a chart that is redrawn as the run goes, saves converting the
    batches it has seen before. The average is taken over every batch before long runs
    are thinned, so its window counts batches, not drawn points."""
    if columns is None:
        columns = BatchColumns(metric)
    elif columns.metric != metric:
        raise ValueError(f"columns hold {columns.metric!r}, not {metric!r}")
    columns.update(batches)
    steps, values = columns.steps, columns.values
    window = max(1, min(50, len(values) // 10 or 1))
    average = _moving_average(values, window)
    # Long runs are thinned to keep the browser fast, always keeping the latest batch.
    keep = np.arange(0, len(values), max(1, -(-len(values) // max_points)))
    if len(values) and keep[-1] != len(values) - 1:
        keep = np.append(keep, len(values) - 1)
    return BatchSeries(metric, steps[keep], values[keep], average[keep], window)
