"""Training on several devices: the strategy choice, and a real MirroredStrategy run on
the CPU split into 2 logical devices (in a fresh interpreter, see tests/helpers/apps/mirrored_run.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.data.builtins import load_builtin
from dashboard.model.presets import load_preset
from dashboard.training import (
    ResultCache,
    TrainSettings,
    devices,
    devices_text,
    run_compare,
    start_run,
)
from dashboard.training.pool import run_fingerprint

ROOT = Path(__file__).resolve().parents[2]
# Remainder 1: 1,293 training images in batches of 68 leave a last batch of one image,
# which one replica gets and the other does not.
SETTINGS = TrainSettings(epochs=3, batch_size=68)


@pytest.fixture(scope="module")
def mirrored() -> dict:
    env = {**os.environ, "CNNLAB_DEVICES": "cpu:2", "TF_CPP_MIN_LOG_LEVEL": "2",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests/helpers/apps/mirrored_run.py"), json.dumps(SETTINGS.to_dict())],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_two_logical_cpus_train_under_mirrored_strategy_like_one_device(mirrored):
    assert mirrored["status"] == "done", mirrored["error"]
    # The run says how it trained, and the model really is mirrored over 2 replicas.
    assert (mirrored["strategy"], mirrored["device_count"]) == ("MirroredStrategy", 2)
    assert mirrored["devices_text"] == "2 devices (MirroredStrategy)"
    assert mirrored["model_strategy"] == "MirroredStrategy" and mirrored["replicas"] == 2
    assert mirrored["variable_type"] == "MirroredVariable"
    # The uneven last batch was topped up so that both replicas got an image, and the
    # run says so; the kept model predicts a single image.
    assert any("the last batch of each epoch repeats 1 of" in note for note in mirrored["notes"])
    assert mirrored["kept_model_strategy"] != "MirroredStrategy"
    assert mirrored["one_image_prediction"] == 1

    single = start_run(load_preset("default"), load_builtin("digits"), SETTINGS,
                       cache=ResultCache())  # fmt: skip
    assert single.wait(600)
    assert single.status == "done", single.error
    assert single.device_count == devices.device_plan().count
    # Same spec, same steps (the batch size is global), a similar result.
    assert mirrored["spec"] == single.spec.to_dict()
    assert mirrored["steps_per_epoch"] == single.steps_per_epoch
    assert mirrored["batches"] == len(single.batches) == 3 * single.steps_per_epoch
    one, two = single.history[-1], mirrored["history"][-1]
    assert two["accuracy"] > 0.75 and two["val_accuracy"] > 0.75
    assert abs(two["accuracy"] - one["accuracy"]) < 0.05
    assert abs(two["val_accuracy"] - one["val_accuracy"]) < 0.07


def test_stop_and_nan_work_under_mirrored_strategy(mirrored):
    stop = mirrored["stop"]
    assert stop["status"] == "stopped" and stop["device_count"] == 2
    assert stop["prediction_shape"] == [4, 10]  # the kept weights predict
    assert stop["epochs"] <= 1, "stopped within the first epoch, not after 20"
    nan = mirrored["nan"]
    assert nan["status"] == "failed" and nan["batches"] >= 1
    assert nan["error"].startswith("The loss became NaN")


@pytest.mark.parametrize(
    ("text", "expected"),
    [(None, ("auto", 0)), ("auto", ("auto", 0)), (" Single ", ("single", 0)),
     ("cpu:2", ("cpu", 2))],
)  # fmt: skip
def test_device_requests_are_parsed(text, expected):
    assert devices.parse_request(text) == expected


@pytest.mark.parametrize("text", ["gpu", "cpu:0", "cpu:x", "cpu:65", "2"])
def test_bad_device_requests_say_what_to_use(text):
    with pytest.raises(ValueError, match="use auto, single or cpu:N"):
        devices.parse_request(text)


def test_cpu_split_after_tensorflow_started_falls_back_to_one_device_and_says_so():
    import tensorflow as tf

    tf.config.list_logical_devices()  # TensorFlow has set up its devices now
    plan = devices._make_plan("cpu:2")
    assert plan.count == 1 and not plan.mirrored
    assert "came after TensorFlow had set up its devices" in plan.note
    assert isinstance(devices.choose_strategy(plan), type(tf.distribute.get_strategy()))


def test_plan_text_and_fingerprint():
    mirrored = devices.DevicePlan(devices.MIRRORED, ("/device:GPU:0", "/device:GPU:1"))
    single = devices.DevicePlan(devices.DEFAULT, ("/device:CPU:0",))
    assert mirrored.summary() == "MirroredStrategy on 2 GPU devices"
    assert single.summary() == "1 CPU device (default strategy)"
    assert devices_text("MirroredStrategy", 2) == "2 devices (MirroredStrategy)"
    assert devices_text("default", 1) == "1 device" and devices_text(None, 0) == ""
    # One device keeps the old digest (and the cached results keyed by it); several
    # devices give other weights, so they get their own.
    args = ({"layers": []}, "data", {"seed": 0})
    assert run_fingerprint(*args, single.cache_key()) == run_fingerprint(*args)
    assert run_fingerprint(*args, mirrored.cache_key()) != run_fingerprint(*args)


def test_runs_table_shows_the_devices():
    run = start_run(load_preset("default"), load_builtin("digits"),
                    TrainSettings(epochs=1), cache=ResultCache())  # fmt: skip
    assert run.wait(600)
    table = run_compare.run_table([run])
    assert "devices" in table.columns
    assert table.loc[0, "devices"] == run.view().devices_text != ""
