"""Test-set evaluation of a trained model: loss, accuracy, confusion matrix,
per-class precision/recall/F1, the most confident mistakes, the CNN vs
dense-only comparison of article 000, and the sentences the Evaluate page writes
about them.

Predictions come from `prediction.predict`; everything else is NumPy on them, so it is
tested against hand-computed cases without a model. TensorFlow is never
imported here: a keras.Model arrives already built.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dashboard.data.builtins import load_builtin
from dashboard.data.datasets import Dataset
from dashboard.insight.prediction import PREDICT_BATCH, predict
from dashboard.model.presets import load_preset
from dashboard.model.spec import ModelSpec, shape_text
from dashboard.training.run_compare import metric_text

if TYPE_CHECKING:
    from dashboard.training import Run

# Keras clips probabilities to [eps, 1 - eps] in its cross-entropies; so do we,
# so our loss is the number model.evaluate would print.
EPSILON = 1e-7
BASELINE_PRESET = "dense_only"


class EvaluationError(ValueError):
    """A run that cannot be evaluated; the message says what to do."""


# --- metrics on predictions ---------------------------------------------------------


def cross_entropy(probabilities: np.ndarray, y_true: np.ndarray) -> float:
    """Mean cross-entropy: Keras' sparse categorical (or binary, for 2 columns from a sigmoid) loss."""
    p_true = probabilities[np.arange(len(y_true)), y_true]
    return float(-np.mean(np.log(np.clip(p_true, EPSILON, 1.0 - EPSILON))))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """(K, K) counts: row = true class, column = predicted class."""
    flat = np.asarray(y_true, dtype=np.int64) * num_classes + np.asarray(y_pred, dtype=np.int64)
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    # 0 where undefined, as scikit-learn reports it (zero_division default).
    out = np.zeros(len(numerator), dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def per_class_scores(confusion: np.ndarray, class_names: list[str]) -> pd.DataFrame:
    """Precision, recall, F1 and support of each class, from a confusion matrix.

    Precision: of the images predicted as the class, the share that are it.
    Recall: of the images of the class, the share found. F1: their harmonic mean.
    A score with nothing to divide by (a class never predicted) is 0.
    """
    hits = np.diag(confusion).astype(np.float64)
    predicted = confusion.sum(axis=0)
    actual = confusion.sum(axis=1)
    precision = _ratio(hits, predicted)
    recall = _ratio(hits, actual)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return pd.DataFrame(
        {
            "class": class_names,
            "precision": precision,
            "recall": recall,
            "F1": f1,
            "support": actual.astype(np.int64),
        }
    )


def most_confident_mistakes(
    probabilities: np.ndarray, y_true: np.ndarray, count: int = 12
) -> pd.DataFrame:
    """The wrong predictions the model was surest of, surest first.

    Columns: index (into the test set), true, predicted, confidence (the
    probability the model gave its wrong answer).
    """
    y_pred = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(y_pred != y_true)
    confidence = probabilities[wrong, y_pred[wrong]]
    # Stable sort: equal confidences keep test-set order, so results are repeatable.
    order = np.argsort(-confidence, kind="stable")[:count]
    return pd.DataFrame(
        {
            "index": wrong[order],
            "true": y_true[wrong[order]],
            "predicted": y_pred[wrong[order]],
            "confidence": confidence[order].astype(np.float64),
        }
    )


@dataclass
class Evaluation:
    """One model's predictions on a test set, and what follows from them."""

    class_names: list[str]
    # uint8 (N, H, W, C), kept to show the images of a cell or of a mistake.
    x_test: np.ndarray = field(repr=False)
    y_true: np.ndarray = field(repr=False)  # int (N,)
    probabilities: np.ndarray = field(repr=False)  # float32 (N, K)

    def __post_init__(self) -> None:
        self.y_true = np.asarray(self.y_true, dtype=np.int64)
        self.y_pred = self.probabilities.argmax(axis=1)
        self.confusion = confusion_matrix(self.y_true, self.y_pred, self.num_classes)
        self.loss = cross_entropy(self.probabilities, self.y_true)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def num_test(self) -> int:
        return len(self.y_true)

    @property
    def num_mistakes(self) -> int:
        return int(np.count_nonzero(self.y_pred != self.y_true))

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.y_pred == self.y_true))

    def scores(self) -> pd.DataFrame:
        """Per-class precision, recall, F1 and support."""
        return per_class_scores(self.confusion, self.class_names)

    def macro_f1(self) -> float:
        return float(self.scores()["F1"].mean())

    def mistakes(self, count: int = 12) -> pd.DataFrame:
        """Most confident mistakes, with class names and a caption per image."""
        table = most_confident_mistakes(self.probabilities, self.y_true, count)
        names = np.asarray(self.class_names, dtype=object)
        table["true name"] = names[table["true"].to_numpy()]
        table["predicted name"] = names[table["predicted"].to_numpy()]
        table["caption"] = [
            f"true {t}, predicted {p} ({c:.0%})"
            for t, p, c in zip(
                table["true name"], table["predicted name"], table["confidence"], strict=True
            )
        ]
        return table

    def cell(self, true_class: int, predicted_class: int) -> np.ndarray:
        """Test-set indices in one confusion-matrix cell, most confident first."""
        indices = np.flatnonzero((self.y_true == true_class) & (self.y_pred == predicted_class))
        confidence = self.probabilities[indices, predicted_class]
        return indices[np.argsort(-confidence, kind="stable")]

    def worst_cell(self) -> tuple[int, int]:
        """(true, predicted) of the most frequent mistake; (0, 0) when there is none."""
        off_diagonal = self.confusion * (1 - np.eye(self.num_classes, dtype=np.int64))
        if not off_diagonal.any():
            return 0, 0
        true_class, predicted_class = np.unravel_index(off_diagonal.argmax(), off_diagonal.shape)
        return int(true_class), int(predicted_class)

    def confidence(self, indices: np.ndarray) -> np.ndarray:
        """The probability the model gave its own answer, for these test images."""
        return self.probabilities[indices, self.y_pred[indices]]


# --- what the Evaluate page writes ------------------------------------------------------


def summary_metrics(evaluation: Evaluation) -> dict[str, str]:
    """The four numbers atop the Evaluate page, by label, as the page writes them."""
    return {
        "Test accuracy": metric_text(evaluation.accuracy, "accuracy"),
        "Test loss": metric_text(evaluation.loss, "loss"),
        "Test images": f"{evaluation.num_test:,}",
        "Mistakes": f"{evaluation.num_mistakes:,}",
    }


def cell_sentence(
    class_names: list[str], true_class: int, predicted_class: int, count: int, shown: int
) -> str:
    """What a confusion-matrix cell holds: `count` images, of which `shown` are shown."""
    true_name, predicted_name = class_names[true_class], class_names[predicted_class]
    if count == 0:
        return f"No test image of class **{true_name}** was predicted as **{predicted_name}**."
    verdict = "right" if true_class == predicted_class else "wrong"
    which = f"; the {shown} the model was surest of:" if count > shown else ":"
    return (
        f"**{count:,}** test {'image' if count == 1 else 'images'} of class **{true_name}** "
        f"{'was' if count == 1 else 'were'} predicted as **{predicted_name}** ({verdict}){which}"
    )


def cell_captions(evaluation: Evaluation, indices: np.ndarray) -> list[str]:
    """A caption per test image of a cell: its index and the model's confidence."""
    return [f"#{i}: {c:.0%}" for i, c in zip(indices, evaluation.confidence(indices), strict=True)]


def evaluate(
    model: Any,
    images: np.ndarray,
    labels: np.ndarray,
    class_names: list[str],
    batch_size: int = PREDICT_BATCH,
) -> Evaluation:
    """Evaluate a keras model on uint8 test images with integer labels."""
    if len(images) == 0:
        raise EvaluationError(
            "There are no test images to evaluate on; use a dataset with a test split."
        )
    probabilities = predict(model, images, batch_size)
    if probabilities.shape[1] != len(class_names):
        raise EvaluationError(
            f"The model answers with {probabilities.shape[1]} classes but the test data has "
            f"{len(class_names)}; evaluate it on the dataset it was trained on."
        )
    return Evaluation(list(class_names), images, labels, probabilities)


# --- runs -------------------------------------------------------------------------------


def dataset_for_run(run: Run) -> Dataset:
    """The data a run was trained on: `run.dataset` if the run carries it, else the built-in one."""
    dataset = getattr(run, "dataset", None)
    if dataset is not None:
        return dataset
    try:
        return load_builtin(run.dataset_name)
    except KeyError:
        raise EvaluationError(
            f"The test images of '{run.dataset_name}' are not available any more; "
            "load that dataset again on the Data page and retrain the model."
        ) from None


def evaluate_run(run: Run, batch_size: int = PREDICT_BATCH) -> Evaluation:
    """Evaluate a finished or stopped run on its dataset's test split."""
    if run.model is None:
        raise EvaluationError(
            f"Run {run.id} has no model yet ({run.status}); wait until it is done or press Stop."
        )
    dataset = dataset_for_run(run)
    expected = tuple(int(v) for v in run.spec.input_shape)
    if dataset.input_shape != expected:
        raise EvaluationError(
            f"The model takes {shape_text(expected)} images but the test images of "
            f"'{dataset.name}' are {shape_text(dataset.input_shape)}; "
            "evaluate it on the dataset it was trained on."
        )
    return evaluate(run.model, dataset.x_test, dataset.y_test, run.class_names, batch_size)


# --- CNN against the dense-only baseline (article 000) ------------------------------------


def is_convolutional(spec: ModelSpec) -> bool:
    """Whether the model has at least one convolution."""
    return any(layer.type == "Conv2D" for layer in spec.layers)


def baseline_spec(spec: ModelSpec) -> ModelSpec:
    """The dense-only preset, fitted to a spec's input shape and class count."""
    base = load_preset(BASELINE_PRESET)
    return replace(base, input_shape=tuple(spec.input_shape), num_classes=spec.num_classes)


def pending_partner(run: Run, runs: list[Run]) -> Run | None:
    """A run of the other kind on the same data that is still queued or training."""
    kind = is_convolutional(run.spec)
    for other in runs:
        if other.is_active and is_convolutional(other.spec) != kind and _same_data(run, other):
            return other
    return None


def start_baseline_run(cnn_run: Run) -> Run:
    """Start training the dense-only baseline on a CNN run's data with the same settings,
    for the same browser session."""
    from dashboard import training

    spec = baseline_spec(cnn_run.spec)
    return training.start_run(
        spec, dataset_for_run(cnn_run), cnn_run.train_settings, owner=cnn_run.owner
    )


def _same_data(a: Run, b: Run) -> bool:
    data_a, data_b = getattr(a, "dataset", None), getattr(b, "dataset", None)
    if data_a is not None and data_b is not None:
        return data_a.fingerprint() == data_b.fingerprint()
    return a.dataset_name == b.dataset_name


def settings_differences(a: Run, b: Run) -> list[tuple[str, Any, Any]]:
    """(setting, value in a, value in b) for every training setting that differs."""
    keys = sorted(set(a.settings) | set(b.settings))
    return [
        (k, a.settings.get(k), b.settings.get(k))
        for k in keys
        if a.settings.get(k) != b.settings.get(k)
    ]


def comparison_partners(run: Run, runs: list[Run]) -> list[Run]:
    """Runs to compare `run` with: the other kind (CNN vs dense-only), same data, with a model.

    Runs with exactly the same training settings come first (a fair
    comparison), then the rest in the order given (newest first).
    """
    kind = is_convolutional(run.spec)
    partners = [
        other
        for other in runs
        if other.id != run.id
        and other.model is not None
        and is_convolutional(other.spec) != kind
        and _same_data(run, other)
    ]
    return sorted(partners, key=lambda other: bool(settings_differences(run, other)))


def comparison_table(cnn: tuple[Run, Evaluation], dense: tuple[Run, Evaluation]) -> pd.DataFrame:
    """One row per model: test accuracy, loss, mistakes, parameters and epochs trained."""
    rows = []
    for kind, (run, evaluation) in (("CNN", cnn), ("Dense only", dense)):
        rows.append(
            {
                "model": f"{kind}: {run.spec.name} ({run.id})",
                "test accuracy": evaluation.accuracy,
                "test loss": evaluation.loss,
                "mistakes": evaluation.num_mistakes,
                "parameters": run.spec.analyze().total_params,
                "epochs": len(run.history),
            }
        )
    return pd.DataFrame(rows)


def comparison_verdict(table: pd.DataFrame) -> str:
    """One sentence on a comparison_table: who won here, by how much, at what size."""
    cnn, dense = table.iloc[0], table.iloc[1]
    ratio = dense["parameters"] / max(1, cnn["parameters"])
    size = f"{ratio:.1f}× fewer parameters" if ratio >= 1 else f"{1 / ratio:.1f}× more parameters"
    if cnn["mistakes"] < dense["mistakes"]:
        return (
            f"Here the CNN makes {int(dense['mistakes'] - cnn['mistakes'])} fewer mistakes "
            f"({cnn['test accuracy']:.2%} against {dense['test accuracy']:.2%}) with {size}."
        )
    return (
        f"Here the dense-only network does as well or better ({dense['test accuracy']:.2%} "
        f"against {cnn['test accuracy']:.2%}; the CNN has {size}). On tiny images or after "
        "short training a CNN has little to gain; try 28×28 images or more epochs."
    )


def cnn_and_dense(
    first: tuple[Run, Evaluation], second: tuple[Run, Evaluation]
) -> tuple[tuple[Run, Evaluation], tuple[Run, Evaluation]]:
    """The two (run, evaluation) pairs of a comparison, the CNN first."""
    return (first, second) if is_convolutional(first[0].spec) else (second, first)


def comparison_trace_names(
    cnn: tuple[Run, Evaluation], dense: tuple[Run, Evaluation]
) -> tuple[str, str]:
    """The legend of the recall chart: each model's kind, name and test accuracy."""
    return (
        f"CNN {cnn[0].spec.name}: {cnn[1].accuracy:.2%}",
        f"Dense only {dense[0].spec.name}: {dense[1].accuracy:.2%}",
    )


def unfair_comparison_text(differences: list[tuple[str, Any, Any]]) -> str | None:
    """A warning when the CNN and the dense run were trained differently, else None."""
    if not differences:
        return None
    return (
        "The two runs were not trained the same way, so the comparison is not quite fair: "
        + "; ".join(f"{k}: {a} (CNN) vs {b} (dense)" for k, a, b in differences)
        + "."
    )


def missing_partner_text(run: Run) -> str:
    """How to make a run of the other kind (CNN or dense-only) to compare `run` with."""
    settings = ", ".join(f"{k} {v}" for k, v in run.settings.items()) or "the defaults"
    if is_convolutional(run.spec):
        kind = "dense-only"
        how = (
            f"load the **{BASELINE_PRESET}** preset on the **Build** page and train it on "
            f"**{run.dataset_name}** on the **Train** page"
        )
    else:
        kind = "CNN"
        how = (
            "load a CNN preset (the **default** one is fast) on the **Build** page and train it "
            f"on **{run.dataset_name}** on the **Train** page"
        )
    return (
        f"There is no {kind} run on {run.dataset_name} to compare with yet. To make one, "
        f"{how} with the same settings as this run ({settings}), then come back here."
    )


def pending_partner_text(pending: Run) -> str:
    """That the run to compare with is still queued or training."""
    return (
        f"Run {pending.id} ({pending.spec.name}) is {pending.status} on the same data; the "
        "comparison appears here when it finishes."
    )
