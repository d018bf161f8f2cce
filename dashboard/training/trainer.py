"""The Trainer thread that fills a Run: reuse an identical result, follow the one
training that identical runs share, or wait for a slot and memory and train (runs
start in start.py).

Runs that may be shared (built-in data, same model, settings and seed) never train
themselves: each follows a hidden source Run that trains for all of them, so a Stop
on one leaves the others training (live_runs.join).

The Trainer makes no Streamlit calls: it writes metrics into its Run under the Run's
lock, and pages draw from `run.view()` snapshots. Stop sets an Event that the Keras
callback checks after every batch, so a stopped run keeps its weights. TensorFlow is
imported inside functions only.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from dashboard.data.datasets import Dataset
from dashboard.data.limits import count_text
from dashboard.training import live_runs
from dashboard.training.callbacks import live_metrics_class
from dashboard.training.keras_setup import (
    build,
    compile_for_training,
    copy_model,
    drop_step_functions,
)
from dashboard.training.pipeline import prepare_data
from dashboard.training.pool import CachedResult, ResultCache, TrainingQueue, run_fingerprint
from dashboard.training.run import ACTIVE_STATUSES, Run, RunStatus
from dashboard.training.settings import TrainSettings

if TYPE_CHECKING:
    import keras

_LOG = logging.getLogger(__name__)
# How often a run following a shared training copies its state (and notices Stop).
FOLLOW_POLL_SECONDS = 0.1


class Trainer:
    """Runs in its own thread: reuse, follow or train; never calls Streamlit."""

    def __init__(
        self,
        run: Run,
        dataset: Dataset,
        settings: TrainSettings,
        queue: TrainingQueue,
        cache: ResultCache,
        *,
        is_source: bool = False,
    ) -> None:
        self.run_ = run
        self.is_source = is_source  # trains for the runs that follow it (live_runs.join)
        self.dataset = dataset
        self.settings = settings
        self.queue = queue
        self.cache = cache

    def run(self) -> None:
        run = self.run_
        try:
            self._plan_devices()
            if run.fingerprint is None or self.is_source:
                self._train_in_turn()
            else:
                self._share_training()
        except Exception as exc:  # the thread must never die silently
            _LOG.exception("run %s failed", run.id)
            run._set(status=RunStatus.FAILED, error=_error_message(exc), model=None,
                     _training_model=None)  # fmt: skip
        finally:
            with run.lock:
                if run.finished_at is None:
                    run.finished_at = time.time()
                run.queue_position = None
                run.eta_seconds = None
            if self.is_source and run.fingerprint is not None:
                live_runs.retire(run.fingerprint, run)
            run._finished.set()
            live_runs.finish(run)

    def _train_in_turn(self) -> None:
        """Wait for a training slot and for memory, then train."""
        run = self.run_
        if self.is_source and self._adopt_cached():
            return  # an identical training ended between the follower's look and its join
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

    def _plan_devices(self) -> None:
        """Learn this process's devices (importing TensorFlow here, off the page's
        thread) and key a multi-device run's fingerprint by them."""
        from dashboard.training.devices import device_plan

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

    # --- one training for identical runs ---
    def _share_training(self) -> None:
        """Reuse an identical run's result, or follow the one training of this
        fingerprint (beginning it when none is going) until it ends or this run stops."""
        run = self.run_
        if self._adopt_cached():
            return
        if run.stop_requested:  # stopped while TensorFlow was loading: start nothing
            self._stopped_before_start()
            return
        shared, fresh, other = live_runs.join(run.fingerprint, run, self._new_source)
        try:
            if fresh:
                self._start_source(shared.source)
            elif other is not None:
                run._set(follows=other.id, notes=[*run.notes, _follow_note(whose_run(other, run))])
            self._follow(shared)
        finally:
            live_runs.leave(shared, run)  # also when following failed: never a phantom follower

    def _start_source(self, source: Run) -> None:
        """Train `source` in a thread of its own; if no thread can start, it fails."""
        trainer = Trainer(
            source, self.dataset, self.settings, self.queue, self.cache, is_source=True
        )
        try:
            threading.Thread(target=trainer.run, name=f"train-{source.id}", daemon=True).start()
        except RuntimeError as exc:  # "can't start new thread": nobody may wait on it forever
            live_runs.retire(source.fingerprint or "", source)
            source._set(status=RunStatus.FAILED, error=_error_message(exc), finished_at=time.time())
            source._finished.set()

    def _new_source(self) -> Run:
        """The hidden run that trains for everyone following this fingerprint."""
        run = self.run_
        return Run(
            id=f"{run.id}-shared",
            spec=run.spec,
            dataset_name=run.dataset_name,
            class_names=list(run.class_names),
            settings=dict(run.settings),
            fingerprint=run.fingerprint,
            dataset=self.dataset,
            preprocessing=run.preprocessing,
            owner=run.owner,  # the queue's fair share counts it as the starter's
        )

    def _follow(self, shared: live_runs.SharedTraining) -> None:
        """Mirror the shared training until it ends, then take its result; a Stop here
        leaves it (keeping a copy of the weights so far) unless this is the last run
        following it, which stops the training itself and keeps its weights."""
        run, source = self.run_, shared.source
        seen = None
        while not source.wait(FOLLOW_POLL_SECONDS):
            seen = self._mirror(source, seen)
            if run.stop_requested:
                others = live_runs.leave(shared, run)
                if others and not source.stop_requested:
                    self._detach(source, others)
                    return
                source.wait()  # the training stops after its current batch
                break
        self._mirror(source, None)
        with source.lock, run.lock:
            run.model, run.error, run.cached = source.model, source.error, source.cached
            run.started_at, run.finished_at = source.started_at, source.finished_at
            run.status = source.status

    def _mirror(self, source: Run, seen: tuple | None) -> tuple:
        """Copy the shared training's live state into this run, unless it has not moved
        since `seen`; returns what was seen now."""
        # Plain attribute reads: cheap, and a torn read only means one more copy.
        now = (source.status, source.epoch, source.step, source.queue_position,
               len(source.batches), len(source.notes))  # fmt: skip
        if now == seen:
            return now
        view = source.view()
        run = self.run_
        with run.lock:
            if run.status not in ACTIVE_STATUSES:
                return now  # ended already (detached): what it kept must not change
            if view.status in ACTIVE_STATUSES:  # the end comes with the model, in _follow
                run.status = view.status
            run.history, run.batches = view.history, view.batches
            run.epoch, run.step = view.epoch, view.step
            run.steps_per_epoch = view.steps_per_epoch
            run.images_per_s, run.eta_seconds = view.images_per_s, view.eta_seconds
            run.queue_position = view.queue_position
            run.strategy, run.device_count = view.strategy, view.device_count
            run.started_at = source.started_at
            new_notes = [note for note in view.notes if note not in run.notes]
            if new_notes:
                run.notes = [*run.notes, *new_notes]
        return now

    def _detach(self, source: Run, others: list[Run]) -> None:
        """This run leaves a training `others` still follow, with a copy of the weights
        trained so far; none before the first batch (a built model is only its random
        start)."""
        run = self.run_
        with source.lock:
            trained = source.epoch > 0 or source.step > 0
            model = source.model or source._training_model
        model = copy_model(model) if trained and model is not None else None
        with run.lock:
            run.model = model
            run.status = RunStatus.STOPPED
            run.finished_at = time.time()
            run.notes = [*run.notes, _detach_note(run, model is not None, others)]

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
            run.status = RunStatus.DONE
        return True

    def _stopped_before_start(self) -> None:
        """Nothing was trained, so no model is built: it would only take memory."""
        run = self.run_
        with run.lock:
            run.status = RunStatus.STOPPED
            run.notes = [
                *run.notes,
                "Stopped while waiting in the queue: nothing was trained, so there is no model.",
            ]
            run.finished_at = time.time()

    def _wait_for_memory(self, poll: float = 0.5) -> Any:
        """Book the run's memory in the server's budget, waiting while other runs hold
        it; None if the run was stopped while waiting."""
        from dashboard.data.budget import BUDGET, BudgetError
        from dashboard.training.admission import TRAINING_FIX, training_bytes

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
        """Build, compile and fit the model; keep it on done or Stop.

        Long because it is the training steps in the order they happen, each commented.
        """
        # The first run in a process imports TensorFlow here (10 to 40 s on a busy
        # 2-core machine); that is not training time, so the clock starts after it.
        import keras

        from dashboard.training.devices import choose_strategy

        run, settings, dataset = self.run_, self.settings, self.dataset
        run._set(
            status=RunStatus.TRAINING,
            started_at=time.time(),
            queue_position=None,
            strategy=self.plan.strategy,
            device_count=self.plan.count,
        )
        binary = run.spec.num_classes == 2
        # The pipeline yields global batches; a MirroredStrategy splits each across replicas.
        replicas = self.plan.count if self.plan.mirrored else 1
        data = prepare_data(dataset, settings, binary, replicas)
        if data.notes:
            run._set(notes=[*run.notes, *data.notes])
        strategy = choose_strategy(self.plan)
        # Keras ties a model to the strategy whose scope it was built in, and the
        # optimizer to the one it was created in: both must happen inside the scope.
        with strategy.scope():
            model = build(run.spec, settings)
            run._set(_training_model=model)
            train_model = compile_for_training(
                model, run.spec, settings, data.steps_per_epoch, binary
            )
        live = live_metrics_class()(run, data)
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
            run._set(status=RunStatus.FAILED, error=_error_message(exc), model=None,
                     _training_model=None)  # fmt: skip
            return
        finally:
            del data
        if live.failure:
            run._set(status=RunStatus.FAILED, error=live.failure, model=None, _training_model=None)
            return
        notes = []
        if stopper is not None and stopper.stopped_epoch > 0:
            notes.append(
                f"Early stopping ended training after epoch {stopper.stopped_epoch + 1}: "
                f"the {'validation ' if data_has_val(run) else ''}loss had not improved for "
                f"{settings.patience} epochs, so the best epoch's weights were kept."
            )
        status = RunStatus.STOPPED if run.stop_requested else "done"
        drop_step_functions(model, train_model)
        if self.plan.mirrored:
            # A finished model only predicts, often one image: on one device no replica
            # is ever handed an empty slice of a batch, and it saves like any other.
            model = copy_model(model)
        with run.lock:
            # _training_model goes only now: a follower's Stop until here copies it.
            run.model, run._training_model = model, None
            run.notes = [*run.notes, *notes]
            run.finished_at = time.time()
            run.status = status
        if status == RunStatus.DONE and run.fingerprint is not None:
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


def whose_run(other: Run, run: Run) -> str:
    """Another run, named for `run`'s learner: "run ab12cd of this session" or
    "another learner's run" (whose id means nothing to them)."""
    if other.owner is not None and other.owner == run.owner:
        return f"run {other.id} of this session"
    return "another learner's run"


def _follow_note(whose: str) -> str:
    return (
        f"This run follows the training of {whose}: same model, data, settings and seed, "
        "so one training serves them all and gives them the same curves. Stop keeps the "
        "weights trained so far, and the training goes on for any other run following it; "
        "Train separately gives a second, real training."
    )


def _detach_note(run: Run, kept: bool, others: list[Run]) -> str:
    """What Stop did to a run that left a training other runs still follow."""
    who = (
        whose_run(others[0], run)
        if len(others) == 1
        else f"{count_text(len(others), 'other run')} following it"
    )
    if not kept:
        return (
            "Stopped before the first batch: nothing was trained, so there is no model; "
            f"the identical training goes on for {who}."
        )
    return (
        "Stopped: this run keeps a copy of the weights trained so far; the identical "
        f"training goes on for {who}."
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
