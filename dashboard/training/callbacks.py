"""The Keras callback that writes a run's live metrics and checks Stop and NaN after
every batch. Defined on first use, so TensorFlow loads only to train."""

from __future__ import annotations

import math
import time
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dashboard.training.pipeline import Data
    from dashboard.training.run import Run

# A loss this many times its first value has diverged for good (NaN is near).
EXPLODED_FACTOR = 1e6
# The per-batch history keeps at most this many points: past it, every other point goes
# (a 200-epoch MNIST run at batch 8 has 1.35 M batches; ~500 bytes each in dicts).
MAX_BATCH_POINTS = 10_000


@lru_cache(maxsize=1)
def live_metrics_class() -> type:
    """The Keras callback class, defined on first use so TensorFlow loads only to train.

    Long because it defines the whole Keras callback class, built here so TensorFlow is imported only when a run starts.
    """
    import keras

    class LiveMetrics(keras.callbacks.Callback):
        """Writes per-batch and per-epoch metrics into the Run; checks Stop and NaN."""

        def __init__(self, run: Run, data: Data) -> None:
            super().__init__()
            self.run_ = run
            self.n_train = data.n_train
            self.batch_size = data.batch_size
            self.last_batch_size = data.last_batch_size
            self.steps = data.steps_per_epoch
            self.failure: str | None = None
            self.global_step = 0
            self.keep_every = 1  # batches kept in run.batches: every n-th
            self._rate: float | None = None  # images/s, smoothed
            self.first_loss: float | None = None

        def _halt(self) -> None:
            self.model.stop_training = True
            self.model.stop_evaluating = True

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.epoch = epoch
            self.seen = 0
            self.loss_sum = 0.0
            self.acc_sum = 0.0
            self.t_epoch = self.t_batch = time.perf_counter()
            self.t_train_end: float | None = None

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            """Record one batch, honour Stop, catch NaN. Long because it is the hot path,
            kept in one place to stay cheap."""
            now = time.perf_counter()
            logs = logs or {}
            loss_mean = float(logs.get("loss", math.nan))
            acc_mean = float(logs.get("accuracy", math.nan))
            size = self.last_batch_size if batch + 1 == self.steps else self.batch_size
            seen = self.seen + size
            # Keras reports means since the epoch began; recover this batch's own values.
            own_loss = (loss_mean * seen - self.loss_sum) / size
            own_acc = (acc_mean * seen - self.acc_sum) / size
            self.seen, self.loss_sum, self.acc_sum = seen, loss_mean * seen, acc_mean * seen
            self.global_step += 1
            dt = max(now - self.t_batch, 1e-9)
            self.t_batch = now
            rate = size / dt
            self._rate = rate if self._rate is None else 0.9 * self._rate + 0.1 * rate
            run = self.run_
            epochs = int(run.settings.get("epochs", 1))
            left = (epochs - self.epoch) * self.n_train - seen
            with run.lock:
                if self.global_step % self.keep_every == 0:
                    run.batches.append(
                        {
                            "step": self.global_step,
                            "epoch": self.epoch + 1,
                            "loss": own_loss,
                            "accuracy": min(1.0, max(0.0, own_acc)),
                            "loss_mean": loss_mean,
                            "accuracy_mean": acc_mean,
                        }
                    )
                if len(run.batches) > MAX_BATCH_POINTS:
                    # Keep every other point from now on: the history stays a few MB.
                    self.keep_every *= 2
                    run.batches = [b for b in run.batches if b["step"] % self.keep_every == 0]
                run.epoch, run.step = self.epoch, batch + 1
                run.images_per_s = self._rate
                run.eta_seconds = left / self._rate if self._rate else None
            if self.first_loss is None:
                self.first_loss = loss_mean
            if not math.isfinite(loss_mean):
                self.failure = (
                    f"The loss became {'NaN' if math.isnan(loss_mean) else 'infinite'} in "
                    f"epoch {self.epoch + 1}, batch {batch + 1}: the learning rate may be too "
                    "high; lower it (e.g. by 10×) and start again."
                )
                self._halt()
            elif loss_mean > EXPLODED_FACTOR * max(self.first_loss, 1.0):
                self.failure = (
                    f"The loss exploded to {loss_mean:.3g} in epoch {self.epoch + 1}, batch "
                    f"{batch + 1}, on its way to NaN: the learning rate may be too high; "
                    "lower it (e.g. by 10×) and start again."
                )
                self._halt()
            elif run.stop_requested:
                self._halt()

        def on_test_begin(self, logs: Any = None) -> None:
            if getattr(self, "t_train_end", None) is None:
                self.t_train_end = time.perf_counter()

        def on_test_batch_end(self, batch: int, logs: Any = None) -> None:
            if self.run_.stop_requested or self.failure:
                self._halt()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            now = time.perf_counter()
            logs = logs or {}
            train_end = self.t_train_end or now
            row = {
                "epoch": epoch + 1,
                "loss": float(logs.get("loss", math.nan)),
                "accuracy": float(logs.get("accuracy", math.nan)),
            }
            if "val_loss" in logs:
                row["val_loss"] = float(logs["val_loss"])
                row["val_accuracy"] = float(logs.get("val_accuracy", math.nan))
            row["seconds"] = now - self.t_epoch
            # Training images over the training part of the epoch (validation excluded).
            row["images_per_s"] = self.seen / max(train_end - self.t_epoch, 1e-9)
            run = self.run_
            with run.lock:
                partial = self.seen < self.n_train
                if partial:
                    row["partial"] = 1.0  # stopped mid-epoch: metrics cover part of it
                run.history = [*run.history, row]
                run.epoch, run.step = epoch + 1, 0
            val_loss = row.get("val_loss", 0.0)
            if self.failure is None and not math.isfinite(val_loss):
                self.failure = (
                    f"The validation loss became {'NaN' if math.isnan(val_loss) else 'infinite'} "
                    f"after epoch {epoch + 1}: the learning rate may be too high; lower it "
                    "(e.g. by 10×) and start again."
                )
                self._halt()

    return LiveMetrics
