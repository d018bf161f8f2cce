"""Starting a run: fit the spec to the data, refuse what cannot train here, then hand
the run to a Trainer thread (trainer.py)."""

from __future__ import annotations

import threading

from dashboard.data.datasets import Dataset
from dashboard.model.spec import ModelSpec, SpecError, shape_text
from dashboard.training import live_runs
from dashboard.training.admission import run_refusal
from dashboard.training.pool import ResultCache, TrainingQueue, run_fingerprint
from dashboard.training.run import Run, new_run_id
from dashboard.training.settings import TrainSettings
from dashboard.training.trainer import Trainer


def adaptation_preview(spec: ModelSpec, dataset: Dataset) -> str | None:
    """What Start will change in the model to take this data, in one sentence, or None.

    >>> from dashboard.data.builtins import load_digits
    >>> print(adaptation_preview(ModelSpec((32, 32, 3), [], 3), load_digits(8)))
    Start will change the model's input from 32×32×3 to the 8×8×1 images of digits, and its output from 3 to 10 classes.
    """
    changes = []
    if tuple(spec.input_shape) != dataset.input_shape:
        changes.append(
            f"the model's input from {shape_text(spec.input_shape)} to the "
            f"{shape_text(dataset.input_shape)} images of {dataset.name}"
        )
    if spec.num_classes != dataset.num_classes:
        owner = "its" if changes else "the model's"
        changes.append(f"{owner} output from {spec.num_classes} to {dataset.num_classes} classes")
    return f"Start will change {', and '.join(changes)}." if changes else None


def fit_spec_to_dataset(spec: ModelSpec, dataset: Dataset) -> tuple[ModelSpec, list[str]]:
    """The spec with its input shape and class count set to the dataset's, and what changed.

    Raises SpecError (one sentence) when the layers cannot take the dataset's images.
    """
    notes = []
    fitted = ModelSpec.from_dict(spec.to_dict())
    if tuple(spec.input_shape) != dataset.input_shape:
        fitted.input_shape = dataset.input_shape
        notes.append(
            f"The model's input was {shape_text(spec.input_shape)}; it now takes the "
            f"{shape_text(dataset.input_shape)} images of {dataset.name}."
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
            f"This model cannot take the {shape_text(dataset.input_shape)} images of "
            f"{dataset.name}: {problem} Change the layers on the Build page or pick another dataset."
        )
    return fitted, notes


def start_run(
    spec: ModelSpec,
    dataset: Dataset,
    settings: TrainSettings,
    *,
    queue: TrainingQueue | None = None,
    cache: ResultCache | None = None,
    owner: str | None = None,
    share: bool = True,
) -> Run:
    """Start training `spec` on `dataset` in a background thread and return its Run.

    Identical runs on shareable data share one training unless `share` is False (a
    learner who wants to see that the same seed gives the same curves twice).

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
    refusal = run_refusal(fitted, dataset, settings, live_runs.live_runs_of(owner))
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
        preprocessing=dataset.preprocessing,
        owner=owner,
    )
    if share and dataset.shareable:
        run.fingerprint = run_fingerprint(
            fitted.to_dict(), dataset.fingerprint(), settings.to_dict()
        )
    live_runs.add(run)
    thread = threading.Thread(
        target=Trainer(
            run, dataset, settings, queue or live_runs.QUEUE, cache or live_runs.CACHE
        ).run,
        name=f"train-{run.id}",
        daemon=True,
    )
    run._thread = thread
    thread.start()
    return run
