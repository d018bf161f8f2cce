"""What the runs table, the run diff, the downloads and the Train page's lines about a
run show: pure functions of Runs."""

from __future__ import annotations

import csv
import io
import math

import pandas as pd

from dashboard.data.datasets import Dataset
from dashboard.model.keras_file import save_bytes
from dashboard.model.spec import LayerSpec, ModelSpec, shape_text
from dashboard.training import Run
from dashboard.training.run import RunStatus, RunView

STATUS_ICONS = {
    RunStatus.QUEUED: ":material/hourglass_empty:",
    RunStatus.TRAINING: ":material/autorenew:",
    RunStatus.STOPPED: ":material/stop_circle:",
    RunStatus.DONE: ":material/check_circle:",
    RunStatus.FAILED: ":material/error:",
}


def spec_summary(spec: ModelSpec) -> str:
    """e.g. 'Conv16 → MaxPool → Conv32 → MaxPool → Flatten → Dense10 · 20,490 params'."""
    parts = []
    for layer in [*spec.layers, spec.output_layer()]:
        p = layer.params
        if layer.type == "Conv2D":
            parts.append(f"Conv{p['filters']}")
        elif layer.type == "Dense":
            parts.append(f"Dense{p['units']}")
        elif layer.type == "Dropout":
            parts.append(f"Drop{p['rate']:g}")
        else:
            parts.append(
                layer.type.replace("Pooling2D", "Pool")
                .replace("BatchNormalization", "BN")
                .replace("GlobalAverage", "GlobalAvg")
            )
    analysis = spec.analyze()
    params = f" · {analysis.total_params:,} params" if analysis.ok else ""
    return " → ".join(parts) + params


def dataset_and_model_text(dataset: Dataset, spec: ModelSpec) -> str:
    """e.g. '1,437 training and 360 test images, 8×8×1, 10 classes. Model: Conv16 → …'."""
    h, w, c = dataset.input_shape
    return (
        f"{len(dataset.x_train):,} training and {len(dataset.x_test):,} test images, "
        f"{h}×{w}×{c}, {dataset.num_classes} classes. Model: {spec_summary(spec)}."
    )


def run_heading(view: RunView) -> str:
    """e.g. ':material/check_circle: Run 3f2a1b: done'; 'stopping' from the click on
    Stop until the run has finished its batch and kept its weights (about a second)."""
    if view.stopping:
        return f":material/pending: Run {view.id}: stopping after this batch"
    return f"{STATUS_ICONS.get(view.status, '')} Run {view.id}: {view.status}"


def run_caption(run: Run, view: RunView) -> str:
    """What ran on what: the model, the dataset, the settings and the devices, if known."""
    where = f" · trains on {view.devices_text}" if view.devices_text else ""
    return f"{spec_summary(run.spec)} on {run.dataset_name} · {run.train_settings.summary()}{where}"


def queue_text(position: int, limit: int) -> str:
    """Where a queued run waits, and how many runs the server trains at once."""
    return (
        f"Waiting for a free slot: number {position} in the queue "
        f"({limit} runs train at once on this server)."
    )


def metric_text(value: float, metric: str) -> str:
    """A metric as the app and the CLI write it: an accuracy as '98.12%', a loss as
    '0.0612', and 'not a number' for NaN or infinity."""
    if not math.isfinite(value):
        return "not a number"
    return f"{value:.2%}" if metric.endswith("accuracy") else f"{value:.4f}"


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def run_table(runs: list[Run]) -> pd.DataFrame:
    """One row per run: what a user compares at a glance."""
    rows = []
    for run in runs:
        view = run.view()
        last = view.history[-1] if view.history else {}
        status = view.status
        if status == RunStatus.QUEUED and view.queue_position:
            status = f"queued (#{view.queue_position})"
        if run.cached and status == RunStatus.DONE:
            status = "done (reused)"
        rows.append(
            {
                "run": run.id,
                "status": status,
                "model": spec_summary(run.spec),
                "dataset": run.dataset_name,
                "settings": run.train_settings.summary(),
                "devices": view.devices_text or "—",
                "epochs": len(view.history),
                "accuracy": last.get("accuracy"),
                "val accuracy": last.get("val_accuracy"),
                "loss": last.get("loss"),
                "val loss": last.get("val_loss"),
                "time": format_seconds(view.elapsed if run.started_at else None),
            }
        )
    columns = ["run", "status", "model", "dataset", "settings", "devices", "epochs", "accuracy",
               "val accuracy", "loss", "val loss", "time"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _layer_text(layer: LayerSpec | None) -> str:
    if layer is None:
        return "—"
    summary = layer.summary()
    return f"{layer.type} ({summary})" if summary else layer.type


def layer_diff(a: Run, b: Run) -> pd.DataFrame:
    """The two runs' models layer by layer (output layer included), and what differs."""
    la = [*a.spec.layers, a.spec.output_layer()]
    lb = [*b.spec.layers, b.spec.output_layer()]
    rows = [
        {
            "layer": "input",
            a.id: shape_text(a.spec.input_shape),
            b.id: shape_text(b.spec.input_shape),
        }
    ]
    for i in range(max(len(la), len(lb))):
        rows.append(
            {
                "layer": str(i + 1),
                a.id: _layer_text(la[i] if i < len(la) else None),
                b.id: _layer_text(lb[i] if i < len(lb) else None),
            }
        )
    pa, pb = a.spec.analyze(), b.spec.analyze()
    rows.append({"layer": "parameters", a.id: f"{pa.total_params:,}", b.id: f"{pb.total_params:,}"})
    frame = pd.DataFrame(rows, columns=["layer", a.id, b.id])
    frame["differs"] = frame[a.id] != frame[b.id]
    return frame


SETTING_LABELS = {
    "optimizer": "optimizer",
    "learning_rate": "learning rate",
    "lr_schedule": "learning-rate schedule",
    "batch_size": "batch size",
    "epochs": "epochs",
    "validation_split": "validation split",
    "seed": "seed",
    "flip": "flip",
    "rotation_degrees": "rotation (degrees)",
    "zoom": "zoom",
    "translation": "translation",
    "early_stopping": "early stopping",
    "patience": "patience",
}


def settings_diff(a: Run, b: Run) -> pd.DataFrame:
    """The dataset and every training setting of two runs, side by side."""
    sa, sb = a.train_settings.to_dict(), b.train_settings.to_dict()
    rows = [{"setting": "dataset", a.id: a.dataset_name, b.id: b.dataset_name}]
    rows += [
        {"setting": label, a.id: str(sa.get(key)), b.id: str(sb.get(key))}
        for key, label in SETTING_LABELS.items()
    ]
    frame = pd.DataFrame(rows, columns=["setting", a.id, b.id])
    frame["differs"] = frame[a.id] != frame[b.id]
    return frame


def history_csv(run: Run) -> str:
    """The run's per-epoch history as CSV (one row per epoch)."""
    history = run.view().history
    keys: list[str] = []
    for row in history:
        keys += [k for k in row if k not in keys]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=keys or ["epoch"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    return out.getvalue()


def model_metadata(run: Run) -> dict:
    """What a run's .keras download carries for Classify (see model.keras_file)."""
    return {
        "dataset": run.dataset_name,
        "class_names": list(run.class_names),
        "preprocessing": run.preprocessing.to_dict(),
    }


def model_bytes(run: Run) -> bytes:
    """The run's model as a .keras file with its classes and preprocessing (empty if it
    has no model)."""
    if run.model is None:
        return b""
    return save_bytes(run.model, model_metadata(run))


def file_stem(run: Run) -> str:
    clean = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in run.spec.name)
    return f"{clean or 'model'}_{run.dataset_name}_{run.id}"
