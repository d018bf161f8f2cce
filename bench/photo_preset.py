"""The photos32 preset against the dense-only baseline on real small photos (CIFAR-10).

Both train with photos32's own recipe through the app's training path on the
CIFAR-10 subset of ../shared/data (4000 training and 1000 test images, 32×32×3), and
are scored on its test images; the default preset is timed beside them for scale.

Targets (issue 22): accuracy >= 0.60, and >= 15 points above dense_only.
Last line: accuracy=<a> dense_accuracy=<d> seconds=<s> default_seconds=<s>
Run: python bench/photo_preset.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CNNLAB_DATA_DIR", str(ROOT.parent / "shared" / "data"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from dashboard import training  # noqa: E402
from dashboard.data.builtins import load_builtin  # noqa: E402
from dashboard.insight.evaluation import evaluate  # noqa: E402
from dashboard.model.presets import load_preset, preset_train_settings  # noqa: E402
from dashboard.training import TrainSettings  # noqa: E402
from dashboard.training.pool import ResultCache  # noqa: E402

PRESET = "photos32"


def trained(name: str, dataset, settings: TrainSettings) -> tuple[float, float]:
    """(test accuracy, training seconds) of preset `name` trained with `settings`."""
    run = training.start_run(load_preset(name), dataset, settings, cache=ResultCache())
    run.wait()
    if run.status != "done":
        sys.exit(f"{name}: the run ended {run.status}: {run.error}")
    acc = evaluate(run.model, dataset.x_test, dataset.y_test, dataset.class_names).accuracy
    print(f"{name}: {acc:.2%} in {run.seconds:.1f} s")
    return acc, run.seconds


def main() -> None:
    dataset = load_builtin("cifar10")
    settings = TrainSettings.from_dict(preset_train_settings(PRESET) or {})
    print(
        f"{len(dataset.x_train):,} training, {len(dataset.x_test):,} test images; {settings.summary()}"
    )
    acc, seconds = trained(PRESET, dataset, settings)
    dense, _ = trained("dense_only", dataset, settings)
    _, default_seconds = trained("default", dataset, settings)
    print(
        f"accuracy={acc:.4f} dense_accuracy={dense:.4f} seconds={seconds:.1f} "
        f"default_seconds={default_seconds:.1f}"
    )


if __name__ == "__main__":
    main()
