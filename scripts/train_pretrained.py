"""Train the small pretrained digits model that ships in models/pretrained/.

The Classify page offers it on a first visit, when nothing has been trained yet.
It is the `default` preset trained on the real MNIST, read from $CNNLAB_DATA_DIR/mnist.npz
(arrays x_train, y_train, x_test, y_test as in Keras' mnist.npz):

    CNNLAB_DATA_DIR=../shared/data python scripts/train_pretrained.py

It writes models/pretrained/digits.keras (weights and architecture, no optimizer
state, so the file stays small) and models/pretrained/digits.json (the spec, the
class names and the test accuracy), and fails if the test accuracy is below 98%.
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard.data.builtins import load_builtin  # noqa: E402
from dashboard.insight.models import PRETRAINED_DIR, PRETRAINED_NAME  # noqa: E402
from dashboard.model.keras_model import build_model  # noqa: E402
from dashboard.model.presets import load_preset  # noqa: E402

MIN_ACCURACY = 0.98


def deflate(path: Path) -> None:
    """Re-zip a .keras file with compression (Keras stores it uncompressed): -25% here."""
    with zipfile.ZipFile(path) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for name, data in members.items():
            target.writestr(name, data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=PRETRAINED_DIR)
    args = parser.parse_args(argv)

    try:
        dataset = load_builtin("mnist")
    except KeyError:
        print("mnist.npz not found: set CNNLAB_DATA_DIR to the folder that holds it.")
        return 2
    spec = load_preset("default")
    spec.name = "pretrained_digits"
    spec.description = "The default preset trained on MNIST; ships with CNN Lab."
    # The app feeds models pixels scaled to 0..1 (dashboard.data.preprocess.to_model_input).
    x_train = dataset.x_train.astype("float32") / 255.0
    x_test = dataset.x_test.astype("float32") / 255.0

    model = build_model(spec, seed=args.seed)
    import keras

    # Adam with a learning rate that decays to 0 over the run: the last epochs settle
    # into a minimum instead of jumping around it (about +0.5% test accuracy here).
    steps = args.epochs * -(-len(x_train) // args.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=steps)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule), loss=spec.loss_name(), metrics=["accuracy"]
    )
    model.fit(x_train, dataset.y_train, epochs=args.epochs, batch_size=args.batch_size, verbose=2)
    _, accuracy = model.evaluate(x_test, dataset.y_test, verbose=0)
    print(f"test accuracy on {len(x_test)} MNIST x_test images: {accuracy:.4f}")
    if accuracy < MIN_ACCURACY:
        print(f"below {MIN_ACCURACY:.0%}: not saved")
        return 1

    # A fresh uncompiled copy carries no optimizer state: about a third of the size.
    shipped = build_model(spec)
    shipped.set_weights(model.get_weights())
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{PRETRAINED_NAME}.keras"
    shipped.save(path)
    deflate(path)
    meta = {
        "spec": spec.to_dict(),
        "class_names": dataset.class_names,
        "test_accuracy": round(float(accuracy), 4),
        "trained_on": "MNIST (60000 training images)",
        "settings": {"epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed},
        "rebuild": "CNNLAB_DATA_DIR=../shared/data python scripts/train_pretrained.py",
    }
    (args.out / f"{PRETRAINED_NAME}.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"saved {args.out / PRETRAINED_NAME}.keras")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
