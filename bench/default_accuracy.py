"""Train the fast default preset on MNIST with the default settings, as the app does.

Target: test accuracy >= 98.5% within 60 s of training on a 2-core machine.
Needs ../shared/data/mnist.npz (or CNNLAB_DATA_DIR pointing at a folder with mnist.npz).
Last line: accuracy=<number> seconds=<number>
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
from dashboard.insight.evaluation import evaluate  # noqa: E402
from dashboard.model.presets import load_preset  # noqa: E402
from dashboard.training import TrainSettings  # noqa: E402


def main() -> None:
    dataset = load_builtin("mnist")
    settings = TrainSettings()
    # Other processes share the 2 cores; the load average says how much of them we had.
    load_before = os.getloadavg()[0]
    cpu_before = time.process_time()
    print(f"default preset on mnist ({len(dataset.x_train):,} images): {settings.summary()}")
    run = training.start_run(load_preset("default"), dataset, settings)
    run.wait()
    if run.status != "done":
        sys.exit(f"the run ended {run.status}: {run.error}")
    for row in run.history:
        print(
            f"epoch {row['epoch']}: {row['seconds']:.1f} s, {row['images_per_s']:,.0f} img/s, "
            f"loss {row['loss']:.4f}, val accuracy {row['val_accuracy']:.4f}"
        )
    cpu = time.process_time() - cpu_before
    in_epochs = sum(row["seconds"] for row in run.history)
    # Setup (split, build, compile) plus anything after the last epoch (fit returning):
    # if fit were slow to return, this is where it would show.
    print(
        f"{in_epochs:.1f} s in epochs, {run.seconds - in_epochs:.1f} s outside them; "
        f"{cpu:.0f} CPU s; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    accuracy = evaluate(run.model, dataset.x_test, dataset.y_test, dataset.class_names).accuracy
    print(f"accuracy={accuracy:.4f} seconds={run.seconds:.1f}")


if __name__ == "__main__":
    main()
