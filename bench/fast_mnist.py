"""The fast_mnist preset against article 002's CNN, in the same run, on the real MNIST.

1. Trains the article 002 CNN (the mnist_cnn preset) with bare `model.fit` for one
   epoch, Adam, batch 128: the time to beat.
2. Trains the fast_mnist preset with its own recipe through the app's training path
   (`training.start_run`, as the Train page and the CLI do) and takes the run's time.
3. Both are scored on the 5000 MNIST test images of ../shared/data.

Targets (issue 22): accuracy >= 0.993 and ratio <= 0.5 (fast_mnist seconds over the
article model's epoch). Last line: accuracy=<a> seconds=<s> ratio=<r>
Run: python bench/fast_mnist.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CNNLAB_DATA_DIR", str(ROOT.parent / "shared" / "data"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from dashboard import training  # noqa: E402
from dashboard.data.builtins import load_builtin  # noqa: E402
from dashboard.data.preprocess import to_model_input  # noqa: E402
from dashboard.insight.evaluation import evaluate  # noqa: E402
from dashboard.model.keras_model import build_model  # noqa: E402
from dashboard.model.presets import load_preset, preset_train_settings  # noqa: E402
from dashboard.training import TrainSettings  # noqa: E402
from dashboard.training.pool import ResultCache  # noqa: E402

PRESET = "fast_mnist"


def accuracy(model, dataset) -> float:
    """Test accuracy as the Evaluate page computes it."""
    return evaluate(model, dataset.x_test, dataset.y_test, dataset.class_names).accuracy


def article_epoch_seconds(dataset) -> tuple[float, float]:
    """One epoch of the article 002 CNN with bare model.fit (Adam, batch 128)."""
    model = build_model(load_preset("mnist_cnn"), 0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = to_model_input(dataset.x_train)
    start = time.perf_counter()
    model.fit(x, dataset.y_train, epochs=1, batch_size=128, verbose=0)
    return time.perf_counter() - start, accuracy(model, dataset)


def main() -> None:
    dataset = load_builtin("mnist")
    base_s, base_acc = article_epoch_seconds(dataset)
    print(f"article 002 CNN, one epoch of bare model.fit: {base_s:.1f} s, {base_acc:.2%}")
    settings = TrainSettings.from_dict(preset_train_settings(PRESET) or {})
    print(f"{PRESET} through the app: {settings.summary()}")
    run = training.start_run(load_preset(PRESET), dataset, settings, cache=ResultCache())
    run.wait()
    if run.status != "done":
        sys.exit(f"the run ended {run.status}: {run.error}")
    acc = accuracy(run.model, dataset)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} logical CPUs")
    print(f"accuracy={acc:.4f} seconds={run.seconds:.1f} ratio={run.seconds / base_s:.2f}")


if __name__ == "__main__":
    main()
