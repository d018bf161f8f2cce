"""`python -m dashboard train / evaluate` on a small dataset, as a user runs them."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dashboard.data.builtins import load_digits

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dashboard", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip


@pytest.fixture(scope="module")
def small_npz(tmp_path_factory) -> Path:
    """scikit-learn's digits in Keras' .npz layout (x as (N, 8, 8) uint8)."""
    d = load_digits(8)
    path = tmp_path_factory.mktemp("data") / "digits_small.npz"
    np.savez(path, x_train=d.x_train[..., 0], y_train=d.y_train,
             x_test=d.x_test[..., 0], y_test=d.y_test)  # fmt: skip
    return path


def test_cli_trains_and_evaluates(small_npz, tmp_path):
    out = tmp_path / "run"
    done = cli("train", "--preset", "default", "--npz", str(small_npz), "--epochs", "4",
               "--batch-size", "32", "--seed", "3", "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "epoch 4/4 " in done.stderr and ": loss" in done.stderr  # epoch by epoch
    assert "█" in done.stderr  # the progress bar
    spec = json.loads((out / "spec.json").read_text())
    assert spec["input_shape"] == [8, 8, 1] and spec["name"] == "default"
    rows = list(csv.DictReader((out / "history.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    assert float(rows[-1]["val_accuracy"]) > 0.8
    # The last epoch's line says the history's metrics as the Train page writes them.
    last = rows[-1]
    assert (
        f"loss {float(last['loss']):.4f}, accuracy {float(last['accuracy']):.2%}, "
        f"val loss {float(last['val_loss']):.4f}, val accuracy {float(last['val_accuracy']):.2%}"
    ) in done.stderr

    evaluated = cli("evaluate", "--model", str(out / "model.keras"), "--npz", str(small_npz))
    assert evaluated.returncode == 0, evaluated.stderr
    last = evaluated.stdout.strip().splitlines()[-1]
    assert last.startswith("accuracy=")
    assert 0.8 < float(last.split("=")[1]) <= 1.0


def test_cli_epoch_line_says_not_a_number_for_a_diverged_loss():
    from dashboard.cli import _epoch_line

    row = {"epoch": 3, "loss": float("nan"), "accuracy": 0.1, "images_per_s": 5120.4}
    line = _epoch_line(row, epochs=4)
    assert line.startswith("epoch 3/4 ")
    assert line.endswith(": loss not a number, accuracy 10.00%, 5,120 img/s")


def test_cli_errors_are_one_clear_line(tmp_path):
    missing = cli(
        "evaluate", "--model", str(tmp_path / "none.keras"), "--npz", str(tmp_path / "x.npz")
    )
    assert missing.returncode == 2
    assert missing.stderr.strip().startswith("error: No file")
    unknown = cli("train", "--preset", "nope", "--dataset", "digits", "--out", str(tmp_path))
    assert unknown.returncode == 2
    assert "No preset 'nope'" in unknown.stderr
    bad_devices = cli("train", "--devices", "gpu", "--dataset", "digits", "--out", str(tmp_path))
    assert bad_devices.returncode == 2
    assert "--devices 'gpu' is not understood; use auto, single or cpu:N" in bad_devices.stderr


def test_cli_trains_on_two_logical_cpus_and_says_so(small_npz, tmp_path):
    out = tmp_path / "mirrored"
    done = cli("train", "--npz", str(small_npz), "--epochs", "1", "--devices", "cpu:2",
               "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "devices: 2 devices (MirroredStrategy)" in done.stderr
    assert "epoch 1/1 " in done.stderr and (out / "model.keras").is_file()


def test_cli_takes_a_presets_recipe_unless_a_setting_is_given():
    from dashboard.cli import _settings, parser
    from dashboard.model.presets import preset_train_settings
    from dashboard.training import TrainSettings

    recipe = preset_train_settings("fast_mnist")
    assert recipe, "the fast preset comes with its Train settings"
    given = _settings(parser().parse_args(["train", "--preset", "fast_mnist", "--out", "o"]))
    assert given == TrainSettings.from_dict(recipe)
    one_epoch = parser().parse_args(
        ["train", "--preset", "fast_mnist", "--epochs", "1", "--out", "o"]
    )
    assert _settings(one_epoch).epochs == 1
    assert _settings(one_epoch).batch_size == recipe["batch_size"]
    # A spec file has no recipe: the Train page's defaults, as before.
    spec_only = parser().parse_args(["train", "--spec", "s.json", "--out", "o"])
    assert _settings(spec_only) == TrainSettings()


def test_cli_trains_on_a_zip_of_class_folders_with_the_data_pages_options(tmp_path):
    import io
    import zipfile

    from PIL import Image

    rng = np.random.default_rng(0)
    archive = tmp_path / "colours.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for label, channel in (("red", 0), ("blue", 2)):
            for i in range(12):
                pixels = rng.integers(0, 60, (40, 30, 3), dtype=np.uint8)
                pixels[..., channel] = 220
                buffer = io.BytesIO()
                Image.fromarray(pixels).save(buffer, "PNG")
                z.writestr(f"{label}/{i}.png", buffer.getvalue())
    out = tmp_path / "run"
    done = cli("train", "--zip", str(archive), "--size", "16", "--fit", "crop", "--epochs", "2",
               "--flip", "--early-stopping", "--patience", "1", "--batch-size", "8",
               "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "aug: flip" in done.stderr and "early stop" in done.stderr.lower()
    spec = json.loads((out / "spec.json").read_text())
    assert spec["input_shape"] == [16, 16, 3] and spec["num_classes"] == 2
    with zipfile.ZipFile(out / "model.keras") as saved:
        meta = json.loads(saved.read("metadata.json"))["cnnlab"]
    assert meta["class_names"] == ["blue", "red"] and meta["preprocessing"]["fit"] == "crop"
    wrong = cli("train", "--size", "16", "--dataset", "digits", "--out", str(tmp_path / "x"))
    assert wrong.returncode == 2 and "go with --zip" in wrong.stderr
