"""Admission: whether a run may start on this server, decided before anything is
built. The Build page shows the same verdict that Start gives."""

from __future__ import annotations

import math

from dashboard.data import limits
from dashboard.data.budget import BUDGET, MemoryBudget
from dashboard.data.datasets import Dataset
from dashboard.data.limits import human_bytes
from dashboard.model.analysis import Analysis, input_elements
from dashboard.model.spec import ModelSpec
from dashboard.training.settings import TrainSettings

# Fair share on a shared server: runs one browser session may have queued or training.
MAX_LIVE_RUNS_PER_SESSION = 3

TRAINING_FIX = "use a smaller batch size, fewer filters or units, or smaller images"


def training_bytes(
    spec: ModelSpec, batch_size: int, dataset_bytes: int = 0, analysis: Analysis | None = None
) -> int:
    """What training `spec` at `batch_size` books: activations and their gradients,
    weights, gradients and optimizer slots (spec.Analysis), plus the pipeline's copy of
    the training images and two float32 batches in flight. Pass `analysis` (of the same
    spec at the same batch size) if the caller has it already."""
    analysis = analysis or spec.analyze(batch_size)
    elements = input_elements(spec)
    in_flight = 2 * batch_size * elements * 4
    return analysis.training_memory_bytes(elements) + dataset_bytes + in_flight


def training_refusal(
    spec: ModelSpec, batch_size: int, dataset_bytes: int = 0, budget: MemoryBudget | None = None
) -> str | None:
    """Why this training can never start on this server, in one sentence, or None.

    The Build page shows it before Start and start_run refuses with it. Memory that other
    runs hold is not counted here: such a run waits in the queue until it fits.
    """
    budget = budget or BUDGET
    analysis = spec.analyze(batch_size)
    if analysis.ok and analysis.total_params > limits.MAX_MODEL_PARAMS:
        return (
            f"This model has {analysis.total_params:,} parameters; a model may have at most "
            f"{limits.MAX_MODEL_PARAMS:,} here, so use fewer filters or units, or add pooling "
            "before Flatten."
        )
    need = training_bytes(spec, batch_size, dataset_bytes, analysis)
    if need > budget.per_task:
        return (
            f"Training this model at batch size {batch_size} needs about {human_bytes(need)} "
            f"of memory, more than the {human_bytes(budget.per_task)} this server allows one "
            f"run (over by {human_bytes(need - budget.per_task)}); {TRAINING_FIX}."
        )
    return None


def run_refusal(
    spec: ModelSpec, dataset: Dataset, settings: TrainSettings, live_runs: int = 0
) -> str | None:
    """Why this run may not start on this server (one sentence), or None. `live_runs`:
    the runs its browser session has queued or training already."""
    batch = min(settings.batch_size, len(dataset.x_train))
    refusal = training_refusal(spec, batch, dataset.x_train.nbytes)
    if refusal:
        return refusal
    batches = settings.epochs * math.ceil(len(dataset.x_train) / batch)
    if batches > limits.MAX_RUN_BATCHES:
        return (
            f"This run would train {batches:,} batches; one run may train at most "
            f"{limits.MAX_RUN_BATCHES:,} on this server, so use fewer epochs or a larger "
            "batch size."
        )
    if live_runs >= MAX_LIVE_RUNS_PER_SESSION:
        return (
            f"You already have {live_runs} runs queued or training, the most one learner may "
            "have at once on this shared server; stop one or wait for one to finish."
        )
    return None
