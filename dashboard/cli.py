"""Command line: train and evaluate for scripts and workshop preparation.

    python -m dashboard train --preset default --dataset mnist --epochs 4 --out runs/a
    python -m dashboard evaluate --model runs/a/model.keras --npz mnist.npz

`train` uses the same Trainer as the Train page (dashboard.training.start_run).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from dashboard.data.builtins import DEFAULT_DATASET, dataset_choices, load_builtin
from dashboard.data.datasets import DataError, Dataset
from dashboard.data.limits import UPLOAD_IMAGE_SIZES
from dashboard.data.npz import read_npz
from dashboard.data.preprocess import FIT_HELP, FIT_MODES
from dashboard.data.uploads import COLOR_MODES, UploadOptions
from dashboard.model.presets import load_preset, preset_names, preset_train_settings
from dashboard.model.spec import ModelSpec, SpecError
from dashboard.training import LR_SCHEDULES, OPTIMIZERS, TrainSettings
from dashboard.training.run import RunStatus

BAR_WIDTH = 30


class CliError(Exception):
    """A mistake in the command; the message says what to do."""


def load_npz(path: str | Path) -> Dataset:
    """A Keras-layout .npz (x_train, y_train, x_test, y_test); never shared (like an upload)."""
    path = Path(path)
    if not path.is_file():
        raise CliError(
            f"No file {path}; give the path of an .npz with x_train/y_train/x_test/y_test."
        )
    return read_npz(path, path.stem, f"file {path}", shareable=False)


def _spec(args: argparse.Namespace) -> ModelSpec:
    if args.spec:
        try:
            return ModelSpec.from_json(Path(args.spec).read_bytes())
        except OSError as exc:
            raise CliError(f"Cannot read the spec file {args.spec} ({exc}).") from None
    try:
        return load_preset(args.preset or "default")
    except KeyError:
        raise CliError(
            f"No preset '{args.preset}'; presets: {', '.join(preset_names())}."
        ) from None


def _dataset(args: argparse.Namespace) -> Dataset:
    if args.npz:
        return load_npz(args.npz)
    if args.zip:
        return _zip_dataset(args)
    if any(getattr(args, flag) is not None for flag in ("size", "color", "fit", "test_fraction")):
        raise CliError("--size, --color, --fit and --test-fraction go with --zip.")
    try:
        return load_builtin(args.dataset or DEFAULT_DATASET)
    except KeyError:
        where = os.environ.get("CNNLAB_DATA_DIR") or "CNNLAB_DATA_DIR (not set)"
        raise CliError(
            f"No dataset '{args.dataset}'; use {_dataset_names()}, a NAME.npz in {where}, "
            "or --npz FILE."
        ) from None
    # A DataError (no network for a download, a damaged file) says what to do itself.


def _zip_dataset(args: argparse.Namespace) -> Dataset:
    """A zip of class folders, decoded as the Data page's upload does (same options)."""
    from dashboard.data.uploads import load_zip_bytes

    path = Path(args.zip)
    if not path.is_file():
        raise CliError(f"No file {path}; give the path of a zip with one folder per class.")
    defaults = UploadOptions()
    options = UploadOptions(
        size=args.size or defaults.size,
        color=args.color or defaults.color,
        fit=args.fit or defaults.fit,
        test_fraction=defaults.test_fraction if args.test_fraction is None else args.test_fraction,
    )
    return load_zip_bytes(path.read_bytes(), path.name, options)


def _dataset_names() -> str:
    return ", ".join(choice.key for choice in dataset_choices())


# Train settings by their command-line names (None: not given on the command line).
SETTING_FLAGS = {
    "optimizer": "optimizer",
    "learning_rate": "lr",
    "lr_schedule": "schedule",
    "batch_size": "batch_size",
    "epochs": "epochs",
    "validation_split": "validation_split",
    "seed": "seed",
    "flip": "flip",
    "rotation_degrees": "rotation",
    "zoom": "zoom",
    "translation": "translation",
    "early_stopping": "early_stopping",
    "patience": "patience",
}


def _settings(args: argparse.Namespace) -> TrainSettings:
    """The settings given on the command line; the others from the preset's recipe when
    it has one (models/presets), else TrainSettings' defaults."""
    recipe = (preset_train_settings(args.preset or "default") or {}) if not args.spec else {}
    given = {key: getattr(args, flag) for key, flag in SETTING_FLAGS.items()}
    return TrainSettings.from_dict(
        {**recipe, **{key: value for key, value in given.items() if value is not None}}
    )


def _bar(fraction: float) -> str:
    filled = round(fraction * BAR_WIDTH)
    return "█" * filled + "·" * (BAR_WIDTH - filled)


def train(args: argparse.Namespace) -> int:
    """Train as the Train page does and save model.keras, spec.json and history.csv.

    Long because it is the one loop that prints a run's notes, epochs and progress.
    """
    from dashboard import training
    from dashboard.training.run_compare import format_seconds, history_csv, model_bytes

    spec, dataset = _spec(args), _dataset(args)
    settings = _settings(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"Training {spec.name} on {dataset.name} ({len(dataset.x_train):,} images): "
          f"{settings.summary()}", file=sys.stderr)  # fmt: skip
    run = training.start_run(spec, dataset, settings)
    notes_shown = 0
    printed = 0
    tty = sys.stderr.isatty()
    last_line = 0.0
    devices_shown = False
    while not run.wait(0.25):
        view = run.view()
        notes_shown = _print_notes(view.notes, notes_shown)
        if view.devices_text and not devices_shown:
            devices_shown = True
            print(f"\rdevices: {view.devices_text}" + " " * 20, file=sys.stderr)
        for row in view.history[printed:]:
            print("\r" + _epoch_line(row, view.epochs) + " " * 20, file=sys.stderr)
        printed = len(view.history)
        now = time.monotonic()
        if view.status == RunStatus.TRAINING and (tty or now - last_line > 10):
            last_line = now
            rate = f"{view.images_per_s:,.0f} img/s" if view.images_per_s else ""
            eta = f"ETA {format_seconds(view.eta_seconds)}" if view.eta_seconds else ""
            line = f"epoch {min(view.epoch + 1, view.epochs)}/{view.epochs} {_bar(view.fraction)} {view.fraction:4.0%} {rate} {eta}"
            print(
                ("\r" if tty else "") + line, end="" if tty else "\n", file=sys.stderr, flush=True
            )
    final = run.view()
    for row in final.history[printed:]:
        print("\r" + _epoch_line(row, final.epochs) + " " * 20, file=sys.stderr)
    _print_notes(final.notes, notes_shown)
    if final.devices_text and not devices_shown:
        print(f"devices: {final.devices_text}", file=sys.stderr)
    if run.status == RunStatus.FAILED:
        print(f"error: {run.error}", file=sys.stderr)
        if run.history:
            (out / "history.csv").write_text(history_csv(run))
        return 1
    (out / "model.keras").write_bytes(model_bytes(run))
    (out / "spec.json").write_text(run.spec.to_json())
    (out / "history.csv").write_text(history_csv(run))
    print(f"Saved {out / 'model.keras'}, spec.json and history.csv in {format_seconds(run.seconds)}.",
          file=sys.stderr)  # fmt: skip
    return 0


def _print_notes(notes: list[str], shown: int) -> int:
    """Print the notes after the first `shown` (the Trainer adds some as it goes)."""
    for note in notes[shown:]:
        print(f"\rnote: {note}", file=sys.stderr)
    return max(shown, len(notes))


def _epoch_line(row: dict[str, float], epochs: int) -> str:
    """E.g. 'epoch 2/4 █████·····: loss 0.0612, accuracy 98.12%, val loss …, 5,120 img/s',
    each metric written as on the Train page."""
    from dashboard.training.run_compare import metric_text

    bar = _bar(min(1.0, row["epoch"] / max(epochs, 1)))
    metrics = ", ".join(
        f"{key.replace('_', ' ')} {metric_text(row[key], key)}"
        for key in ("loss", "accuracy", "val_loss", "val_accuracy")
        if key in row
    )
    return f"epoch {int(row['epoch'])}/{epochs} {bar}: {metrics}, {row.get('images_per_s', 0):,.0f} img/s"


def evaluate(args: argparse.Namespace) -> int:
    """Accuracy of a saved model on an .npz file's x_test/y_test; prints accuracy=<n> last."""
    dataset = load_npz(args.npz)
    path = Path(args.model)
    if not path.is_file():
        raise CliError(
            f"No model file {path}; train one with `python -m dashboard train --out DIR`."
        )
    import keras

    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as exc:
        raise CliError(f"{path} is not a Keras model file ({type(exc).__name__}: {exc}).") from None
    from dashboard.insight.prediction import predict

    x = dataset.x_test
    expected = tuple(model.input_shape[1:])
    if tuple(x.shape[1:]) != expected:
        raise CliError(
            f"The model takes {expected} images but {path.name} holds {tuple(x.shape[1:])}; "
            "evaluate it on data of the shape it was trained on."
        )
    # p = 0.5 counts as class 0 for a sigmoid output, as Keras' binary accuracy does.
    predicted = predict(model, x).argmax(axis=1)
    accuracy = float(np.mean(predicted == dataset.y_test))
    print(f"{len(x):,} test images of {args.npz}")
    print(f"accuracy={accuracy:.4f}")
    return 0


def parser() -> argparse.ArgumentParser:
    """The command line. Long because it is one add_argument per flag, read like the help."""
    defaults = TrainSettings()
    root = argparse.ArgumentParser(prog="python -m dashboard", description=__doc__.split("\n")[0])
    sub = root.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a model and save model.keras, spec.json, history.csv")
    model = t.add_mutually_exclusive_group()
    model.add_argument("--preset", help=f"a preset: {', '.join(preset_names())} (default: default)")
    model.add_argument("--spec", help="a spec JSON file (the Build page's 'Download spec')")
    data = t.add_mutually_exclusive_group()
    data.add_argument(
        "--dataset",
        help=f"{_dataset_names()} (default: {DEFAULT_DATASET}), or NAME for "
        "$CNNLAB_DATA_DIR/NAME.npz",
    )
    data.add_argument("--npz", help="an .npz file with x_train, y_train, x_test, y_test")
    data.add_argument(
        "--zip", help="a zip with one folder of images per class, as on the Data page"
    )
    upload = UploadOptions()
    t.add_argument(
        "--size",
        type=int,
        choices=UPLOAD_IMAGE_SIZES,
        help=f"--zip: images become SIZE×SIZE (default {upload.size})",
    )
    t.add_argument("--color", choices=COLOR_MODES, help=f"--zip: default {upload.color}")
    t.add_argument(
        "--fit", choices=list(FIT_MODES), help=f"--zip: {FIT_HELP} Default: {upload.fit}."
    )
    t.add_argument(
        "--test-fraction",
        type=float,
        help=f"--zip without a test folder: share held out (default {upload.test_fraction})",
    )
    recipe = "; with --preset, the preset's recipe if it has one"
    t.add_argument("--epochs", type=int, help=f"default: {defaults.epochs}{recipe}")
    t.add_argument("--batch-size", type=int, help=f"default: {defaults.batch_size}{recipe}")
    t.add_argument("--seed", type=int, help=f"default: {defaults.seed}")
    t.add_argument("--optimizer", choices=list(OPTIMIZERS), help=f"default: {defaults.optimizer}")
    t.add_argument("--lr", type=float, help=f"learning rate; default: {defaults.learning_rate}")
    t.add_argument(
        "--schedule", choices=list(LR_SCHEDULES), help=f"default: {defaults.lr_schedule}"
    )
    t.add_argument("--validation-split", type=float, help=f"default: {defaults.validation_split}")
    aug = "augmentation, as on the Train page"
    t.add_argument("--flip", action=argparse.BooleanOptionalAction, help=f"{aug}: left-right flips")
    t.add_argument("--rotation", type=float, help=f"{aug}: ± degrees (default 0)")
    t.add_argument("--zoom", type=float, help=f"{aug}: ± share (default 0)")
    t.add_argument("--translation", type=float, help=f"{aug}: ± share of the size (default 0)")
    t.add_argument(
        "--early-stopping",
        action=argparse.BooleanOptionalAction,
        help="stop when the validation loss has not improved for --patience epochs",
    )
    t.add_argument("--patience", type=int, help=f"epochs (default {defaults.patience})")
    t.add_argument(
        "--devices",
        help="auto (several GPUs: MirroredStrategy), single, or cpu:N (N logical CPUs, "
        "mirrored); default: $CNNLAB_DEVICES or auto",
    )
    t.add_argument("--out", required=True, help="directory for the three files")
    e = sub.add_parser("evaluate", help="test accuracy of a saved model on an .npz's x_test/y_test")
    e.add_argument("--model", required=True, help="a .keras file")
    e.add_argument("--npz", required=True, help="an .npz file with x_test and y_test")
    return root


def _set_devices(value: str) -> None:
    """Pass --devices on to the Trainer through CNNLAB_DEVICES (read once, before
    TensorFlow sets up its devices)."""
    from dashboard.training.devices import ENV_VAR, parse_request

    try:
        parse_request(value)
    except ValueError:
        raise CliError(
            f"--devices {value!r} is not understood; use auto, single or cpu:N (e.g. cpu:2)."
        ) from None
    os.environ[ENV_VAR] = value


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        if getattr(args, "devices", None):
            _set_devices(args.devices)
        return train(args) if args.command == "train" else evaluate(args)
    except (CliError, SpecError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
