"""Training runs: settings, a thread-safe Run, and the Trainer thread that fills it.

The Trainer makes no Streamlit calls: it writes metrics into its Run under the
Run's lock, and pages draw from `run.view()` snapshots. Stop sets an Event that
the Keras callback checks after every batch, so a stopped run keeps its weights.
TensorFlow is imported inside functions only.
"""

from __future__ import annotations

import atexit
import gc
import logging
import math
import secrets
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from dashboard.datasets import Dataset
from dashboard.spec import ModelSpec, SpecError
from dashboard.training_pool import CachedResult, ResultCache, TrainingQueue, run_fingerprint

if TYPE_CHECKING:
    import keras

_LOG = logging.getLogger(__name__)

RUN_STATUSES = ("queued", "training", "stopped", "done", "failed")
ACTIVE_STATUSES = ("queued", "training")

# Optimizer key -> what the UI calls it.
OPTIMIZERS: dict[str, str] = {
    "adam": "Adam",
    "sgd": "SGD with momentum",
    "rmsprop": "RMSprop",
    "adadelta": "Adadelta",
    "adagrad": "Adagrad",
}
LR_SCHEDULES: dict[str, str] = {
    "cosine": "Cosine decay to 0",
    "constant": "Constant",
}
SGD_MOMENTUM = 0.9
# A loss this many times its first value has diverged for good (NaN is near).
EXPLODED_FACTOR = 1e6
# Fair share on a shared server: runs one browser session may have queued or training.
MAX_LIVE_RUNS_PER_SESSION = 3
# The per-batch history keeps at most this many points: past it, every other point goes
# (a 200-epoch MNIST run at batch 8 has 1.35 M batches; ~500 bytes each in dicts).
MAX_BATCH_POINTS = 10_000

# Process-wide: one queue and one cache for every browser session.
QUEUE = TrainingQueue()
CACHE = ResultCache()
# Python's and NumPy's global RNGs are seeded while a model is built; one build at
# a time keeps each run's initial weights a function of its own seed only.
_BUILD_LOCK = threading.Lock()
# Runs that are training right now, by fingerprint: an identical request follows one.
_LEADERS: dict[str, Run] = {}
_LEADERS_LOCK = threading.Lock()
_LIVE: set[Run] = set()  # every queued or training run, for gc decisions
_LIVE_LOCK = threading.Lock()


# --- settings ---------------------------------------------------------------------


@dataclass(frozen=True)
class TrainSettings:
    """Everything besides the spec and the data that decides a run's result.

    The defaults train the default preset to about 98.5% on MNIST in under a minute
    on 2 CPU cores (bench/default_accuracy.py measures it).
    """

    optimizer: str = "adam"
    learning_rate: float = 0.01
    lr_schedule: str = "cosine"
    batch_size: int = 128
    epochs: int = 4
    validation_split: float = 0.1
    seed: int = 0
    flip: bool = False
    rotation_degrees: float = 0.0
    zoom: float = 0.0
    translation: float = 0.0
    early_stopping: bool = False
    patience: int = 2

    def problems(self) -> list[str]:
        """Settings a user can get wrong, each as one sentence saying what to do."""
        out = []
        if self.optimizer not in OPTIMIZERS:
            out.append(f"Unknown optimizer '{self.optimizer}'; use one of {', '.join(OPTIMIZERS)}.")
        if self.lr_schedule not in LR_SCHEDULES:
            out.append(f"Unknown schedule '{self.lr_schedule}'; use 'cosine' or 'constant'.")
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            out.append("The learning rate must be a positive number, e.g. 0.001.")
        if not 1 <= self.batch_size <= 65536:
            out.append("The batch size must be a whole number from 1 to 65536.")
        if not 1 <= self.epochs <= 1000:
            out.append("Epochs must be a whole number from 1 to 1000.")
        if not 0 <= self.validation_split < 0.9:
            out.append("The validation split must be at least 0 and below 0.9 (e.g. 0.1).")
        if not 0 <= self.rotation_degrees <= 180:
            out.append("Rotation must be 0 to 180 degrees.")
        if not (0 <= self.zoom < 1 and 0 <= self.translation < 1):
            out.append("Zoom and translation must be fractions from 0 to below 1 (e.g. 0.1).")
        if self.patience < 1:
            out.append("Early-stopping patience must be at least 1 epoch.")
        return out

    @property
    def augmentation(self) -> bool:
        return bool(self.flip or self.rotation_degrees or self.zoom or self.translation)

    def summary(self) -> str:
        """One line, e.g. 'Adam lr 0.01 (cosine), batch 128, 4 epochs, val 10%, seed 0'."""
        lr = f"lr {self.learning_rate:g}" + (" (cosine)" if self.lr_schedule == "cosine" else "")
        parts = [
            f"{OPTIMIZERS.get(self.optimizer, self.optimizer)} {lr}",
            f"batch {self.batch_size}",
            f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}",
            f"val {self.validation_split:.0%}",
            f"seed {self.seed}",
        ]
        aug = [
            name
            for name, on in (
                ("flip", self.flip),
                (f"rotate ±{self.rotation_degrees:g}°", self.rotation_degrees),
                (f"zoom ±{self.zoom:.0%}", self.zoom),
                (f"shift ±{self.translation:.0%}", self.translation),
            )
            if on
        ]
        if aug:
            parts.append("aug: " + ", ".join(aug))
        if self.early_stopping:
            parts.append(f"early stop (patience {self.patience})")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainSettings:
        known = {f.name: f.type for f in fields(cls)}
        kwargs = {}
        for key, value in data.items():
            if key in known:
                default = getattr(cls, key)
                kwargs[key] = type(default)(value)
        return cls(**kwargs)


# --- runs ---------------------------------------------------------------------------


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

    @property
    def devices_text(self) -> str:
        """E.g. '2 devices (MirroredStrategy)', '1 device', or '' before training starts."""
        return devices_text(self.strategy, self.device_count)

    @property
    def fraction(self) -> float:
        """How much of the planned training is done, 0..1."""
        if self.status in ("done",):
            return 1.0
        total = self.epochs * max(self.steps_per_epoch, 1)
        return min(1.0, (self.epoch * max(self.steps_per_epoch, 1) + self.step) / total)


def devices_text(strategy: str | None, device_count: int) -> str:
    """How many devices trained a run and under which strategy ('' if not known yet)."""
    if not device_count:
        return ""
    text = f"{device_count} device{'s' if device_count != 1 else ''}"
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
    status: str = "queued"
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
    owner: str | None = None  # the browser session that started it (fair share)
    # How it trains: "MirroredStrategy" or "default", and on how many devices (0: not yet).
    strategy: str | None = None
    device_count: int = 0
    dataset: Dataset | None = field(default=None, repr=False)
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
            )

    def _set(self, **changes: Any) -> None:
        with self.lock:
            for key, value in changes.items():
                setattr(self, key, value)


# --- starting runs --------------------------------------------------------------------


def fit_spec_to_dataset(spec: ModelSpec, dataset: Dataset) -> tuple[ModelSpec, list[str]]:
    """The spec with its input shape and class count set to the dataset's, and what changed.

    Raises SpecError (one sentence) when the layers cannot take the dataset's images.
    """
    notes = []
    fitted = ModelSpec.from_dict(spec.to_dict())
    if tuple(spec.input_shape) != dataset.input_shape:
        fitted.input_shape = dataset.input_shape
        notes.append(
            f"The model's input was {_shape_text(spec.input_shape)}; it now takes the "
            f"{_shape_text(dataset.input_shape)} images of {dataset.name}."
        )
    if spec.num_classes != dataset.num_classes:
        fitted.num_classes = dataset.num_classes
        notes.append(
            f"The output layer now has {dataset.num_classes} classes to match {dataset.name} "
            f"(the spec said {spec.num_classes})."
        )
    analysis = fitted.analyze()
    if not analysis.ok:
        problem = (analysis.problems or [info.error for info in analysis.errors])[0]
        raise SpecError(
            f"This model cannot take the {_shape_text(dataset.input_shape)} images of "
            f"{dataset.name}: {problem} Change the layers on the Build page or pick another dataset."
        )
    return fitted, notes


def _shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(str(v) for v in shape)


def start_run(
    spec: ModelSpec,
    dataset: Dataset,
    settings: TrainSettings,
    *,
    queue: TrainingQueue | None = None,
    cache: ResultCache | None = None,
    owner: str | None = None,
) -> Run:
    """Start training `spec` on `dataset` in a background thread and return its Run.

    Raises SpecError for settings or a spec that cannot train on this data, a run too
    large for this server, or a session that has too many runs going already (`owner`);
    the message is one sentence saying what to do.
    """
    problems = settings.problems()
    if problems:
        raise SpecError(problems[0])
    fitted, notes = fit_spec_to_dataset(spec, dataset)
    if len(dataset.x_train) < 2:
        raise SpecError("The dataset needs at least 2 training images; pick or upload more.")
    refusal = run_refusal(fitted, dataset, settings, owner)
    if refusal:
        raise SpecError(refusal)
    run = Run(
        id=new_run_id(),
        spec=fitted,
        dataset_name=dataset.name,
        class_names=list(dataset.class_names),
        settings=settings.to_dict(),
        notes=notes,
        dataset=dataset,
        owner=owner,
    )
    if dataset.shareable:
        run.fingerprint = run_fingerprint(
            fitted.to_dict(), dataset.fingerprint(), settings.to_dict()
        )
    with _LIVE_LOCK:
        _LIVE.add(run)
    thread = threading.Thread(
        target=_Trainer(run, dataset, settings, queue or QUEUE, cache or CACHE).run,
        name=f"train-{run.id}",
        daemon=True,
    )
    run._thread = thread
    thread.start()
    return run


def run_refusal(
    spec: ModelSpec, dataset: Dataset, settings: TrainSettings, owner: str | None = None
) -> str | None:
    """Why this run may not start on this server (one sentence), or None."""
    from dashboard import budget, limits

    batch = min(settings.batch_size, len(dataset.x_train))
    refusal = budget.training_refusal(spec, batch, dataset.x_train.nbytes)
    if refusal:
        return refusal
    batches = settings.epochs * math.ceil(len(dataset.x_train) / batch)
    if batches > limits.MAX_RUN_BATCHES:
        return (
            f"This run would train {batches:,} batches; one run may train at most "
            f"{limits.MAX_RUN_BATCHES:,} on this server, so use fewer epochs or a larger "
            "batch size."
        )
    if owner is not None:
        with _LIVE_LOCK:
            mine = sum(1 for run in _LIVE if run.owner == owner)
        if mine >= MAX_LIVE_RUNS_PER_SESSION:
            return (
                f"You already have {mine} runs queued or training, the most one learner may "
                "have at once on this shared server; stop one or wait for one to finish."
            )
    return None


_WARM_UP_LOCK = threading.Lock()
_WARM_UP_STARTED = False


def warm_up() -> None:
    """Import TensorFlow and Keras in a background thread, once per process, so the
    first Start does not wait for the import (10 to 40 s on a busy 2-core machine)."""
    global _WARM_UP_STARTED
    with _WARM_UP_LOCK:
        if _WARM_UP_STARTED:
            return
        _WARM_UP_STARTED = True

    def _import() -> None:
        try:
            import keras  # noqa: F401
        except Exception:  # training reports import errors itself, to the user
            _LOG.exception("warming up TensorFlow failed")

    threading.Thread(target=_import, name="tensorflow-warm-up", daemon=True).start()


def active_run_count() -> int:
    """Runs queued or training in this process, across all sessions."""
    with _LIVE_LOCK:
        return len(_LIVE)


def stop_all(timeout: float = 10.0) -> None:
    """Stop every live run and wait a little for each (at interpreter exit: a thread
    still inside TensorFlow when Python shuts down aborts the process)."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    for run in live:
        run.stop()
    deadline = time.monotonic() + timeout
    for run in live:
        run.wait(max(0.0, deadline - time.monotonic()))


atexit.register(stop_all)


def collect_garbage_if_idle() -> bool:
    """A full gc.collect() frees a deleted run's model, but holds the GIL ~0.4 s with
    TensorFlow loaded; only do it while nothing trains. True if it ran."""
    if active_run_count():
        return False
    release_traced_gradients()
    gc.collect()
    return True


def release_traced_gradients() -> int:
    """Drop the gradient functions TensorFlow registered while tracing train steps.

    Every traced Keras train step calls the replica context's all_reduce, a
    `tf.custom_gradient`, which in graph mode adds an entry to TensorFlow's global
    gradient registry that is never removed and holds the whole step graph (about
    6 MB for a small CNN). A workshop server would grow by that with every run, even
    after the run's model is gone. The entries are only read while a graph is being
    traced, and the all_reduce entry only by a second derivative through the optimizer
    (never), so dropping them after runs is safe; we still do it only when no run
    trains, in case a custom layer's gradient is being traced. Returns how many went.
    """
    if "tensorflow" not in sys.modules:
        return 0  # nothing was ever traced
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    if not isinstance(registry, dict):
        return 0  # another TensorFlow version: nothing we know how to release
    stale = [name for name in list(registry) if name.startswith("CustomGradient-")]
    for name in stale:
        registry.pop(name, None)
    return len(stale)


# --- the Trainer thread -------------------------------------------------------------


class _Trainer:
    """Runs in its own thread: reuse, follow or train; never calls Streamlit."""

    def __init__(
        self,
        run: Run,
        dataset: Dataset,
        settings: TrainSettings,
        queue: TrainingQueue,
        cache: ResultCache,
    ) -> None:
        self.run_ = run
        self.dataset = dataset
        self.settings = settings
        self.queue = queue
        self.cache = cache

    def run(self) -> None:
        run = self.run_
        try:
            self._plan_devices()
            while not self._reuse_or_follow():
                if self._lead_or_follow():
                    continue  # an identical run started first: follow it instead
                try:
                    if self._adopt_cached():
                        return  # an identical run finished just before we took the lead
                    ticket = self.queue.acquire(
                        lambda place: run._set(queue_position=place),
                        lambda: run.stop_requested,
                        owner=run.owner,
                    )
                    if ticket is None:
                        self._stopped_before_start()
                        return
                    try:
                        holding = self._wait_for_memory()
                        if holding is None:
                            self._stopped_before_start()
                            return
                        try:
                            self._train()
                        finally:
                            holding.release()
                    finally:
                        self.queue.release(ticket)
                finally:
                    self._retire_leader()
                return
        except Exception as exc:  # the thread must never die silently
            _LOG.exception("run %s failed", run.id)
            run._set(status="failed", error=_error_message(exc), model=None)
        finally:
            with run.lock:
                if run.finished_at is None:
                    run.finished_at = time.time()
                run.queue_position = None
                run.eta_seconds = None
            with _LIVE_LOCK:
                _LIVE.discard(run)
                idle = not _LIVE
            run._finished.set()
            if idle:  # the last run ended: its traced step graphs can go
                release_traced_gradients()

    def _plan_devices(self) -> None:
        """Learn this process's devices (importing TensorFlow here, off the page's
        thread) and key a multi-device run's fingerprint by them."""
        from dashboard.devices import device_plan

        self.plan = device_plan()
        run = self.run_
        key = self.plan.cache_key()
        with run.lock:
            if self.plan.note and self.plan.note not in run.notes:
                run.notes = [*run.notes, self.plan.note]
            if run.fingerprint is not None and key is not None:
                run.fingerprint = run_fingerprint(
                    run.spec.to_dict(), self.dataset.fingerprint(), self.settings.to_dict(), key
                )

    # --- sharing between identical runs ---
    def _reuse_or_follow(self) -> bool:
        """True when the run ended by reusing a cached result (or following one)."""
        run = self.run_
        if run.fingerprint is None:
            return False
        if self._adopt_cached():
            return True
        with _LEADERS_LOCK:
            leader = _LEADERS.get(run.fingerprint)
        if leader is None or leader is run:
            return False
        return self._follow(leader)

    def _lead_or_follow(self) -> bool:
        """Register as the one run training this fingerprint; True if another got there first."""
        run = self.run_
        if run.fingerprint is None:
            return False
        with _LEADERS_LOCK:
            leader = _LEADERS.setdefault(run.fingerprint, run)
        return leader is not run

    def _retire_leader(self) -> None:
        run = self.run_
        if run.fingerprint is None:
            return
        with _LEADERS_LOCK:
            if _LEADERS.get(run.fingerprint) is run:
                del _LEADERS[run.fingerprint]

    def _adopt_cached(self) -> bool:
        run = self.run_
        hit = self.cache.get(run.fingerprint or "")
        if hit is None:
            return False
        with run.lock:
            now = time.time()
            run.model = hit.model
            run.history = list(hit.history)
            run.batches = list(hit.batches)
            run.epoch = len(hit.history)
            run.step = 0
            run.cached = True
            run.strategy, run.device_count = hit.strategy, hit.device_count
            run.notes = [
                *run.notes,
                *hit.notes,
                "An identical run (same model, data, settings and seed) had already "
                "trained, so this run reuses its result instead of training again.",
            ]
            run.started_at = now - hit.seconds
            run.finished_at = now
            run.status = "done"
        return True

    def _follow(self, leader: Run) -> bool:
        """Mirror an identical run that is training; True once it gave us a result."""
        run = self.run_
        while not leader._finished.wait(0.25):
            view = leader.view()
            with run.lock:
                run.status = view.status
                run.history, run.batches = view.history, view.batches
                run.epoch, run.step = view.epoch, view.step
                run.steps_per_epoch = view.steps_per_epoch
                run.images_per_s, run.eta_seconds = view.images_per_s, view.eta_seconds
                run.queue_position = view.queue_position
                run.strategy, run.device_count = view.strategy, view.device_count
                run.started_at = leader.started_at
            if run.stop_requested:
                self._stop_follower(leader)
                return True
        if self._adopt_cached():
            return True
        # The leader was stopped or failed: train on our own, from a clean slate.
        with run.lock:
            run.status, run.history, run.batches = "queued", [], []
            run.epoch = run.step = 0
            run.started_at = None
        return False

    def _stop_follower(self, leader: Run) -> None:
        """Stopping a mirrored run keeps a copy of the shared training's weights so far."""
        run = self.run_
        source = leader.model or leader._training_model
        model = _copy_model(source) if source is not None else None
        with run.lock:
            run.model = model
            run.status = "stopped" if model is not None else "failed"
            if model is None:
                run.error = "Stopped before the first batch; there are no weights to keep."
            run.finished_at = time.time()

    def _stopped_before_start(self) -> None:
        """Nothing was trained, so no model is built: it would only take memory."""
        run = self.run_
        with run.lock:
            run.status = "stopped"
            run.notes = [
                *run.notes,
                "Stopped while waiting in the queue: nothing was trained, so there is no model.",
            ]
            run.finished_at = time.time()

    def _wait_for_memory(self, poll: float = 0.5) -> Any:
        """Book the run's memory in the server's budget, waiting while other runs hold
        it; None if the run was stopped while waiting."""
        from dashboard.budget import BUDGET, TRAINING_FIX, BudgetError, training_bytes

        run = self.run_
        batch = min(self.settings.batch_size, len(self.dataset.x_train))
        need = training_bytes(run.spec, batch, self.dataset.x_train.nbytes)
        noted = False
        while not run.stop_requested:
            try:
                return BUDGET.hold(need, "This run", TRAINING_FIX)
            except BudgetError:
                if not noted:
                    noted = True
                    note = "Waiting for memory: other runs on this server hold it now."
                    run._set(notes=[*run.notes, note])
            time.sleep(poll)
        return None

    # --- training itself ---
    def _train(self) -> None:
        # The first run in a process imports TensorFlow here (10 to 40 s on a busy
        # 2-core machine); that is not training time, so the clock starts after it.
        import keras

        from dashboard.devices import choose_strategy

        run, settings, dataset = self.run_, self.settings, self.dataset
        run._set(
            status="training",
            started_at=time.time(),
            queue_position=None,
            strategy=self.plan.strategy,
            device_count=self.plan.count,
        )
        binary = run.spec.num_classes == 2
        # The pipeline yields global batches; a MirroredStrategy splits each across replicas.
        replicas = self.plan.count if self.plan.mirrored else 1
        data = _prepare_data(dataset, settings, binary, replicas)
        if data.notes:
            run._set(notes=[*run.notes, *data.notes])
        strategy = choose_strategy(self.plan)
        # Keras ties a model to the strategy whose scope it was built in, and the
        # optimizer to the one it was created in: both must happen inside the scope.
        with strategy.scope():
            model = _build(run.spec, settings)
            run._set(_training_model=model)
            train_model = _compile(model, run.spec, settings, data.steps_per_epoch, binary)
        live = _live_metrics_class()(run, data)
        callbacks: list[keras.callbacks.Callback] = [live]
        stopper = None
        if settings.early_stopping:
            stopper = keras.callbacks.EarlyStopping(
                monitor="val_loss" if data.validation is not None else "loss",
                patience=settings.patience,
                restore_best_weights=True,
            )
            callbacks.append(stopper)
        run._set(steps_per_epoch=data.steps_per_epoch)
        try:
            train_model.fit(
                data.train,
                epochs=settings.epochs,
                steps_per_epoch=data.steps_per_epoch,
                validation_data=data.validation,
                callbacks=callbacks,
                shuffle=False,  # the pipeline already shuffles, by the run's seed
                verbose=0,
            )
        except Exception as exc:
            run._set(status="failed", error=_error_message(exc), model=None)
            return
        finally:
            del data
            run._set(_training_model=None)
        if live.failure:
            run._set(status="failed", error=live.failure, model=None)
            return
        notes = []
        if stopper is not None and stopper.stopped_epoch > 0:
            notes.append(
                f"Early stopping ended training after epoch {stopper.stopped_epoch + 1}: "
                f"the {'validation ' if data_has_val(run) else ''}loss had not improved for "
                f"{settings.patience} epochs, so the best epoch's weights were kept."
            )
        status = "stopped" if run.stop_requested else "done"
        _drop_step_functions(model, train_model)
        if self.plan.mirrored:
            # A finished model only predicts, often one image: on one device no replica
            # is ever handed an empty slice of a batch, and it saves like any other.
            model = _copy_model(model)
        with run.lock:
            run.model = model
            run.notes = [*run.notes, *notes]
            run.finished_at = time.time()
            run.status = status
        if status == "done" and run.fingerprint is not None:
            self.cache.put(
                run.fingerprint,
                CachedResult(
                    model,
                    list(run.history),
                    list(run.batches),
                    notes,
                    run.seconds,
                    run.strategy,
                    run.device_count,
                ),
            )


def data_has_val(run: Run) -> bool:
    return any("val_loss" in row for row in run.history)


def _error_message(exc: BaseException) -> str:
    """One sentence for the user; out-of-memory gets its own advice."""
    name = type(exc).__name__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else name
    if isinstance(exc, MemoryError) or name == "ResourceExhaustedError" or "OOM" in text:
        return (
            "Training ran out of memory; use a smaller batch size, fewer filters or units, "
            "or smaller images, and start again."
        )
    if len(text) > 300:
        text = text[:297] + "..."
    return f"Training stopped with an error ({name}: {text}); the history so far is kept."


# --- data, model, optimizer -----------------------------------------------------------


@dataclass
class _Data:
    train: Any
    validation: Any
    n_train: int
    steps_per_epoch: int
    batch_size: int  # images in every training batch but the last
    last_batch_size: int  # images in the last one, padding included
    notes: list[str] = field(default_factory=list)


def replica_padding(count: int, batch: int, replicas: int) -> int:
    """How many images to add to the last of `count` images in batches of `batch`
    so that each of `replicas` devices gets at least one.

    MirroredStrategy splits every global batch over its replicas; a last batch with
    fewer images than replicas leaves a device an empty slice, which oneDNN's
    convolution rejects on some CPUs ("input depth must be evenly divisible by filter
    depth: 1 vs 16"). Uneven but non-empty slices are fine.
    """
    last = count % batch or batch
    return max(0, replicas - last) if replicas > 1 and count else 0


def _balanced_batch(count: int, largest: int) -> int:
    """The batch size that splits `count` images into as few batches of at most
    `largest` as possible, all within one image of each other."""
    batches = max(1, math.ceil(count / largest))
    return math.ceil(count / batches)


def _prepare_data(
    dataset: Dataset, settings: TrainSettings, binary: bool, replicas: int = 1
) -> _Data:
    """tf.data pipelines that keep the images as uint8 (a quarter of float32's memory)
    and scale them per batch. The split and the order of every epoch come from NumPy
    with the run's seed, so the same seed gives the same batches whatever else the
    process does.

    With several replicas every batch has at least one image per replica: the batch
    size is raised to the replica count if below it, the last training batch of each
    epoch is topped up with that epoch's first images, and validation batches are
    balanced (padded only when there are fewer validation images than replicas).
    """
    import tensorflow as tf

    rng = np.random.default_rng(settings.seed)
    n = len(dataset.x_train)
    order = rng.permutation(n)
    n_val = round(n * settings.validation_split)
    n_val = min(n_val, n - 1)
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    y = dataset.y_train.astype(np.float32 if binary else np.int32)
    if binary:
        y = y.reshape(-1, 1)
    # Batches of both splits gather from all the images by index: no copy of either.
    x_all, y_all = host_tensor(dataset.x_train), tf.constant(y)
    n_train = len(train_idx)
    notes = []
    batch = min(settings.batch_size, n_train)
    if batch < replicas:
        batch = min(replicas, n_train)
        notes.append(
            f"Training on {replicas} devices needs at least one image per device in each "
            f"batch, so batches hold {batch} images instead of {settings.batch_size}."
        )
    steps = math.ceil(n_train / batch)
    pad = replica_padding(n_train, batch, replicas)
    if pad:
        notes.append(
            f"So that each of the {replicas} devices gets an image, the last batch of each "
            f"epoch repeats {pad} of that epoch's first image{'s' if pad != 1 else ''}."
        )
    # Each epoch's order is made when the epoch starts, from the NumPy state it starts
    # with: all of them at once would take epochs x images indices (43 MB for 200 MNIST
    # epochs), and a generator in the pipeline made training ~40% slower. Each order is
    # drawn here too, only to move the generator to the next epoch's state (a shuffle
    # uses no fixed count of draws, so it cannot be skipped): ~1 ms per MNIST epoch.
    epoch_states = []
    for _ in range(settings.epochs):
        epoch_states.append(rng.bit_generator.state)
        rng.permutation(n_train)

    def numpy_epoch_order(epoch: np.int64) -> np.ndarray:
        epoch_rng = np.random.default_rng()
        epoch_rng.bit_generator.state = epoch_states[int(epoch)]
        order = train_idx[epoch_rng.permutation(n_train)].astype(np.int32)
        return np.concatenate([order, order[:pad]]) if pad else order

    def epoch_order(epoch):
        order = tf.numpy_function(numpy_epoch_order, [epoch], tf.int32, stateful=False)
        return tf.ensure_shape(order, [n_train + pad])

    def gather(idx):
        return tf.cast(tf.gather(x_all, idx), tf.float32) / 255.0, tf.gather(y_all, idx)

    train = (
        tf.data.Dataset.range(settings.epochs)
        .map(epoch_order)
        .flat_map(lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch))
        .map(gather, num_parallel_calls=2, deterministic=True)
        .prefetch(2)
        .with_options(_no_autotune())
    )
    validation = None
    if n_val:
        val_batch = max(batch, 256)
        if replicas > 1:
            val_batch = _balanced_batch(n_val, val_batch)
            # Fewer validation images than devices: repeat some (a tiny split anyway).
            val_idx = np.resize(val_idx, max(n_val, replicas))
        validation = (
            tf.data.Dataset.from_tensor_slices(val_idx.astype(np.int32))
            .batch(val_batch)
            .map(gather)
            .prefetch(2)
            .with_options(_no_autotune())
        )
    last = (n_train % batch or batch) + pad
    return _Data(train, validation, n_train, steps, batch, last, notes)


HOST_TENSOR_CHUNK_BYTES = 4 << 20


def host_tensor(array: np.ndarray) -> Any:
    """A TensorFlow tensor with a copy of `array`, for the input pipeline.

    tf.constant keeps twice the array's size resident (89 MB for MNIST's 47 MB of
    uint8 images, measured with TF 2.21); filling an uninitialized tensor in place,
    a few MB at a time, keeps one copy (45 MB, peak 49 MB).
    """
    import tensorflow as tf

    array = np.ascontiguousarray(array)
    rows = max(1, HOST_TENSOR_CHUNK_BYTES // max(1, array[0].nbytes if len(array) else 1))
    tensor = tf.raw_ops.Empty(shape=array.shape, dtype=tf.as_dtype(array.dtype), init=False)
    for start in range(0, len(array), rows):
        stop = min(start + rows, len(array))
        # The only reference to `tensor` is replaced, so TensorFlow updates its buffer in place.
        tensor = tf.raw_ops.InplaceUpdate(x=tensor, i=tf.range(start, stop), v=array[start:stop])
    return tensor


def _no_autotune() -> Any:
    """tf.data options without the autotuning thread.

    That thread sleeps between tuning rounds, doubling the sleep each round, and
    deleting an iterator waits for the sleep to end: after a 4-epoch run, fit
    returned up to 40 s after its last batch. Gathering a batch of uint8 images
    is cheap, so a fixed 2 batches in flight keep the model fed.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return options


def _build(spec: ModelSpec, settings: TrainSettings) -> keras.Model:
    from dashboard.keras_model import build_model

    with _BUILD_LOCK:
        return build_model(spec, settings.seed)


def _drop_step_functions(*models: keras.Model) -> None:
    """Forget the traced train and validation steps of a finished model.

    They hold the step's whole graph (about 9 MB for a small CNN), and a finished
    model, kept by its session and by the cache, only predicts. Keras traces them
    again if the model is ever fitted or evaluated.
    """
    for model in models:
        for name in ("train_function", "test_function"):
            if getattr(model, name, None) is not None:
                setattr(model, name, None)


def _copy_model(model: keras.Model) -> keras.Model:
    import keras

    with _BUILD_LOCK:
        copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
    return copy


def make_optimizer(settings: TrainSettings, total_steps: int) -> keras.optimizers.Optimizer:
    """The optimizer the settings name, with the learning rate (or its cosine decay)."""
    import keras

    lr: Any = settings.learning_rate
    if settings.lr_schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(settings.learning_rate, max(total_steps, 1))
    return {
        "adam": lambda: keras.optimizers.Adam(lr),
        "sgd": lambda: keras.optimizers.SGD(lr, momentum=SGD_MOMENTUM),
        "rmsprop": lambda: keras.optimizers.RMSprop(lr),
        "adadelta": lambda: keras.optimizers.Adadelta(lr),
        "adagrad": lambda: keras.optimizers.Adagrad(lr),
    }[settings.optimizer]()


def compile_model(model: keras.Model, spec: ModelSpec, optimizer: Any = "adam") -> None:
    """Compile with the loss the class count implies and an accuracy that fits it."""
    import keras

    accuracy = (
        keras.metrics.BinaryAccuracy(name="accuracy")
        if spec.num_classes == 2
        else keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    )
    model.compile(optimizer=optimizer, loss=spec.loss_name(), metrics=[accuracy])


def _compile(
    model: keras.Model, spec: ModelSpec, settings: TrainSettings, steps: int, binary: bool
) -> keras.Model:
    """Compile `model`; with augmentation, return a wrapper that augments, then calls it.

    The augmentation layers stay out of `model` itself, so the saved model, its layer
    names and its predictions are the same with or without augmentation.
    """
    import keras

    optimizer = make_optimizer(settings, steps * settings.epochs)
    compile_model(model, spec, optimizer)
    if not settings.augmentation:
        return model
    seed = settings.seed
    with _BUILD_LOCK:
        layers: list[Any] = [keras.Input(shape=spec.input_shape)]
        if settings.flip:
            layers.append(keras.layers.RandomFlip("horizontal", seed=seed + 1))
        if settings.rotation_degrees:
            layers.append(
                keras.layers.RandomRotation(
                    settings.rotation_degrees / 360, fill_mode="nearest", seed=seed + 2
                )
            )
        if settings.zoom:
            layers.append(
                keras.layers.RandomZoom(settings.zoom, fill_mode="nearest", seed=seed + 3)
            )
        if settings.translation:
            t = settings.translation
            layers.append(keras.layers.RandomTranslation(t, t, fill_mode="nearest", seed=seed + 4))
        wrapper = keras.Sequential([*layers, model], name="augmented")
    compile_model(wrapper, spec, optimizer)
    return wrapper


@lru_cache(maxsize=1)
def _live_metrics_class() -> type:
    """The Keras callback class, defined on first use so TensorFlow loads only to train."""
    import keras

    class LiveMetrics(keras.callbacks.Callback):
        """Writes per-batch and per-epoch metrics into the Run; checks Stop and NaN."""

        def __init__(self, run: Run, data: _Data) -> None:
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
