"""One training run: what was trained, on what, and what came of it (Run), and the
consistent copy pages draw from (RunView). The trainer thread writes; pages read."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dashboard.data.datasets import Dataset
from dashboard.data.limits import count_text
from dashboard.data.preprocess import Preprocessing
from dashboard.model.spec import ModelSpec
from dashboard.training.settings import TrainSettings


class RunStatus(StrEnum):
    """Where a run is. A StrEnum: each equals its plain string ('done' == DONE)."""

    QUEUED = "queued"
    TRAINING = "training"
    STOPPED = "stopped"
    DONE = "done"
    FAILED = "failed"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.TRAINING)


@dataclass
class RunView:
    """A consistent copy of a Run's live state, for drawing without holding its lock."""

    id: str
    status: str
    history: list[dict[str, float]]
    batches: list[dict[str, float]]
    epoch: int  # epochs finished
    epochs: int
    step: int  # batches finished in the current epoch
    steps_per_epoch: int
    images_per_s: float | None
    eta_seconds: float | None
    queue_position: int | None
    elapsed: float
    error: str | None
    notes: list[str]
    strategy: str | None = None
    device_count: int = 0
    stopping: bool = False  # Stop was pressed; the run ends after its current batch
    follows: str | None = None  # the id of the run whose identical training it shares

    @property
    def devices_text(self) -> str:
        """E.g. '2 devices (MirroredStrategy)', '1 device', or '' before training starts."""
        return devices_text(self.strategy, self.device_count)

    @property
    def fraction(self) -> float:
        """How much of the planned training is done, 0..1."""
        if self.status == RunStatus.DONE:
            return 1.0
        total = self.epochs * max(self.steps_per_epoch, 1)
        return min(1.0, (self.epoch * max(self.steps_per_epoch, 1) + self.step) / total)


def devices_text(strategy: str | None, device_count: int) -> str:
    """How many devices trained a run and under which strategy ('' if not known yet)."""
    if not device_count:
        return ""
    text = count_text(device_count, "device")
    return f"{text} ({strategy})" if strategy and strategy != "default" else text


def new_run_id() -> str:
    return secrets.token_hex(3)


@dataclass(eq=False)
class Run:
    """One training run: what was trained, on what, and what came of it.

    `model` is a keras.Model once the run is done or stopped, else None. Fields
    change only under `lock` (the Trainer thread writes, pages read `view()`).
    """

    id: str
    spec: ModelSpec
    dataset_name: str
    class_names: list[str]
    settings: dict[str, Any] = field(default_factory=dict)
    status: str = RunStatus.QUEUED
    model: Any = None
    history: list[dict[str, float]] = field(default_factory=list)
    error: str | None = None
    # --- live state (written by the Trainer) ---
    batches: list[dict[str, float]] = field(default_factory=list)
    epoch: int = 0
    step: int = 0
    steps_per_epoch: int = 0
    images_per_s: float | None = None
    eta_seconds: float | None = None
    queue_position: int | None = None
    notes: list[str] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    fingerprint: str | None = None
    cached: bool = False  # the result came from an identical earlier run
    follows: str | None = None  # the id of the run whose identical training it shares
    owner: str | None = None  # the browser session that started it (fair share)
    # How it trains: "MirroredStrategy" or "default", and on how many devices (0: not yet).
    strategy: str | None = None
    device_count: int = 0
    dataset: Dataset | None = field(default=None, repr=False)
    # How the training images were prepared: Classify prepares new ones the same way.
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _finished: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _training_model: Any = field(default=None, repr=False)  # followers copy it on Stop

    @property
    def label(self) -> str:
        return f"{self.spec.name} on {self.dataset_name} ({self.id})"

    @property
    def train_settings(self) -> TrainSettings:
        return TrainSettings.from_dict(self.settings)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def seconds(self) -> float:
        """Training time so far (or in all, once finished)."""
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.time()) - self.started_at

    def stop(self) -> None:
        """Ask the run to stop after the current batch; it keeps the weights so far."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run has ended (done, stopped or failed); False on timeout."""
        return self._finished.wait(timeout)

    def final_metrics(self) -> dict[str, float]:
        """The last epoch's metrics (empty before the first epoch ends)."""
        with self.lock:
            return dict(self.history[-1]) if self.history else {}

    def view(self) -> RunView:
        with self.lock:
            return RunView(
                id=self.id,
                status=self.status,
                history=list(self.history),
                batches=list(self.batches),
                epoch=self.epoch,
                epochs=int(self.settings.get("epochs", 1)),
                step=self.step,
                steps_per_epoch=self.steps_per_epoch,
                images_per_s=self.images_per_s,
                eta_seconds=self.eta_seconds,
                queue_position=self.queue_position,
                elapsed=self.seconds,
                error=self.error,
                notes=list(self.notes),
                strategy=self.strategy,
                device_count=self.device_count,
                stopping=self._stop.is_set() and self.status in ACTIVE_STATUSES,
                follows=self.follows,
            )

    def _set(self, **changes: Any) -> None:
        with self.lock:
            for key, value in changes.items():
                setattr(self, key, value)
