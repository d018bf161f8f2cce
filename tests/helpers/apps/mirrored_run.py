"""Trains under MirroredStrategy on 2 logical CPUs; run in a fresh interpreter.

CNNLAB_DEVICES=cpu:2 must be set before TensorFlow starts, so tests/unit/test_devices.py
runs this file as a subprocess and reads the JSON on its last line of stdout.
"""

from __future__ import annotations

import json
import os
import sys
import time

from dashboard.data.builtins import load_builtin
from dashboard.model.presets import load_preset
from dashboard.training import ResultCache, TrainSettings, start_run


def training_model_facts(run) -> dict:
    """How the model that is training right now is distributed (None once it ended)."""
    model = None
    while model is None and not run.wait(0.005):
        model = run._training_model
    if model is None:
        return {"model_strategy": None, "replicas": None, "variable_type": None}
    return {
        "model_strategy": type(model.distribute_strategy).__name__,
        "replicas": model.distribute_strategy.num_replicas_in_sync,
        "variable_type": type(model.weights[0].value).__name__,
    }


def main() -> None:
    assert os.environ.get("CNNLAB_DEVICES") == "cpu:2", "run me with CNNLAB_DEVICES=cpu:2"
    settings = TrainSettings.from_dict(json.loads(sys.argv[1]))
    digits = load_builtin("digits")
    # Not shared, so this run itself trains and its training model can be looked at.
    run = start_run(load_preset("default"), digits, settings, cache=ResultCache(), share=False)
    training = training_model_facts(run)
    assert run.wait(600)
    model = run.model
    out = {
        "status": run.status,
        "error": run.error,
        "strategy": run.strategy,
        "device_count": run.device_count,
        "devices_text": run.view().devices_text,
        "spec": run.spec.to_dict(),
        "history": run.history,
        "batches": len(run.batches),
        "steps_per_epoch": run.steps_per_epoch,
        **training,
        "notes": run.notes,
        # The kept model predicts on one device: a single image splits over no replicas.
        "kept_model_strategy": type(model.distribute_strategy).__name__ if model else None,
        "one_image_prediction": (
            model.predict(digits.x_test[:1] / 255.0, verbose=0).shape[0] if model else None
        ),
    }
    # Stop mid-training (with augmentation: the wrapper model is built in the scope too).
    stopping = start_run(
        load_preset("default"),
        digits,
        TrainSettings(epochs=20, batch_size=32, translation=0.1),
        cache=ResultCache(),
    )
    while len(stopping.view().batches) < 3 and not stopping.wait(0.02):
        time.sleep(0.02)
    stopping.stop()
    assert stopping.wait(600)
    predictions = stopping.model.predict(digits.x_test[:4] / 255.0, verbose=0)
    out["stop"] = {
        "status": stopping.status,
        "epochs": len(stopping.history),
        "prediction_shape": list(predictions.shape),
        "device_count": stopping.device_count,
    }
    # A loss that becomes NaN fails the run with the usual sentence.
    nan = start_run(
        load_preset("default"),
        digits,
        TrainSettings(optimizer="sgd", learning_rate=1e30, lr_schedule="constant", epochs=2),
        cache=ResultCache(),
    )
    assert nan.wait(600)
    out["nan"] = {"status": nan.status, "error": nan.error, "batches": len(nan.batches)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
