"""The Evaluate page, driven by AppTest with real runs trained here on scikit-learn's digits."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import shown_image_captions
from streamlit.testing.v1 import AppTest

from dashboard.data.builtins import load_builtin
from dashboard.data.preprocess import to_model_input
from dashboard.insight.evaluation import evaluate_run
from dashboard.model.presets import load_preset
from dashboard.training import Run

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "evaluate.py")


def train_run(run_id: str, preset: str, epochs: int, settings: dict | None = None) -> Run:
    """A real finished run: a preset fitted to 8×8 digits, trained for a few epochs."""
    from dashboard.model.keras_model import build_model

    dataset = load_builtin("digits")
    spec = replace(load_preset(preset), input_shape=dataset.input_shape)
    model = build_model(spec, seed=0)
    model.compile(optimizer="adam", loss=spec.loss_name(), metrics=["accuracy"])
    history = model.fit(
        to_model_input(dataset.x_train), dataset.y_train, epochs=epochs, batch_size=32, verbose=0
    ).history
    per_epoch = [{k: float(v[i]) for k, v in history.items()} for i in range(epochs)]
    settings = {"epochs": epochs, "batch_size": 32, "seed": 0, **(settings or {})}
    return Run(run_id, spec, "digits", dataset.class_names, settings, "done", model, per_epoch)


@pytest.fixture(scope="module")
def cnn_run() -> Run:
    return train_run("cnn1", "default", epochs=10)


@pytest.fixture(scope="module")
def dense_run() -> Run:
    return train_run("dense1", "dense_only", epochs=10)


def page_with(*runs: Run) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["runs"] = {run.id: run for run in runs}  # oldest first, like add_run
    at.run()
    assert not at.exception, at.exception
    return at


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def plotly_array(value) -> np.ndarray:
    """A figure-JSON array: a plain list, or Plotly's base64 typed array {dtype, bdata, shape}."""
    if isinstance(value, dict):
        shape = [int(n) for n in str(value["shape"]).split(",")]
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).reshape(shape)
    return np.asarray(value)


def test_without_runs_the_page_says_how_to_get_one_and_never_loads_tensorflow():
    # A fresh interpreter: this test process has TensorFlow loaded already.
    code = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({PAGE!r}, default_timeout=60)\n"
        "at.run()\n"
        "assert not at.exception, at.exception\n"
        "print(at.info[0].value)\n"
        "print('tensorflow loaded:', 'tensorflow' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "no trained model to evaluate yet" in out
    assert "**Train** page" in out
    assert "tensorflow loaded: False" in out


def test_a_run_still_training_is_explained():
    run = Run(
        "r1", load_preset("default"), "digits", [str(i) for i in range(10)], status="training"
    )
    at = page_with(run)
    assert "None of your runs has a model yet" in at.info[0].value
    assert not at.metric


def test_shows_accuracy_confusion_matrix_scores_and_mistakes(cnn_run):
    at = page_with(cnn_run)
    expected = evaluate_run(cnn_run)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test accuracy"] == f"{expected.accuracy:.2%}"
    assert metrics["Test loss"] == f"{expected.loss:.4f}"
    assert metrics["Test images"] == "360"
    assert metrics["Mistakes"] == str(expected.num_mistakes)
    assert expected.accuracy > 0.8  # a real, trained model

    confusion = chart_specs(at)[0]["data"][0]
    assert confusion["type"] == "heatmap"
    assert plotly_array(confusion["z"]).tolist() == expected.confusion.tolist()
    assert confusion["texttemplate"]  # the counts are written in the cells

    table = at.dataframe[0].value
    assert table["class"].tolist() == [str(d) for d in range(10)]
    assert list(table.columns) == ["class", "precision", "recall", "F1", "support"]
    assert table["support"].sum() == 360

    mistakes = shown_image_captions(at)[1]
    assert len(mistakes) == min(12, expected.num_mistakes)
    first = expected.mistakes(1).iloc[0]
    assert mistakes[0] == first["caption"]
    assert first["caption"].startswith(f"true {first['true name']}, predicted ")


def test_picking_a_cell_shows_its_images(cnn_run):
    at = page_with(cnn_run)
    expected = evaluate_run(cnn_run)
    # The page opens on the most frequent mistake.
    worst = expected.worst_cell()
    assert (at.selectbox[1].value, at.selectbox[2].value) == worst
    assert f"**{expected.confusion[worst]}** test images" in at.markdown[0].value

    assert chart_specs(at)[0]["layout"]["shapes"][0]["x0"] == worst[1] - 0.5

    at.selectbox[1].set_value(3)
    at.selectbox[2].set_value(3)
    at.run()
    outline = chart_specs(at)[0]["layout"]["shapes"][0]
    assert (outline["x0"], outline["y0"]) == (2.5, 2.5)  # the chart outlines the chosen cell
    right = int(expected.confusion[3, 3])
    assert at.markdown[0].value.startswith(
        f"**{right}** test images of class **3** were predicted as **3** (right)"
    )
    cell_captions = shown_image_captions(at)[0]
    assert len(cell_captions) == right
    # Captions: test-set index and confidence, surest first.
    indices = [int(c.split(":")[0][1:]) for c in cell_captions]
    assert set(indices) == set(expected.cell(3, 3).tolist())
    assert all(load_builtin("digits").y_test[i] == 3 for i in indices)

    empty = next((t, p) for t in range(10) for p in range(10) if expected.confusion[t, p] == 0)
    at.selectbox[1].set_value(empty[0])
    at.selectbox[2].set_value(empty[1])
    at.run()
    assert at.markdown[0].value.startswith("No test image of class")


def test_evaluation_is_cached_per_run(cnn_run):
    at = page_with(cnn_run)
    first = at.session_state["evaluations"][cnn_run.id][1]
    at.selectbox[1].set_value(0)
    at.run()
    assert at.session_state["evaluations"][cnn_run.id][1] is first


def test_without_a_baseline_explains_how_to_make_one(cnn_run):
    at = page_with(cnn_run)
    info = at.info[0].value
    assert "no dense-only run on digits" in info
    assert "dense_only" in info and "epochs 10" in info


def test_train_the_baseline_now_then_compare(cnn_run):
    at = page_with(cnn_run)
    button = next(b for b in at.button if b.label.startswith("Train the dense_only baseline"))
    button.click().run()
    assert not at.exception and not at.error
    runs = at.session_state["runs"]
    baseline = next(run for run in runs.values() if run.id != cnn_run.id)
    assert baseline.spec.name == "dense_only" and baseline.dataset_name == "digits"
    assert baseline.train_settings == cnn_run.train_settings  # the same settings: a fair test
    assert any(f"Run {baseline.id}" in info.value for info in at.info)
    baseline.wait(timeout=300)  # AppTest never fires run_every: wait, then redraw
    at.run()
    assert baseline.status == "done"
    comparison = at.dataframe[1].value
    assert comparison["model"].tolist() == [
        "CNN: default (cnn1)",
        f"Dense only: dense_only ({baseline.id})",
    ]


def test_cnn_against_dense_only(cnn_run, dense_run):
    at = page_with(cnn_run, dense_run)  # dense is newest, so it is the page's first choice
    assert at.selectbox[0].value == dense_run.id
    at.selectbox[0].set_value(cnn_run.id).run()
    assert not at.exception
    comparison = at.dataframe[1].value
    assert comparison["model"].tolist() == [
        "CNN: default (cnn1)",
        "Dense only: dense_only (dense1)",
    ]
    cnn_eval, dense_eval = evaluate_run(cnn_run), evaluate_run(dense_run)
    assert comparison["test accuracy"].tolist() == pytest.approx(
        [cnn_eval.accuracy, dense_eval.accuracy]
    )
    assert comparison["parameters"].tolist() == [
        cnn_run.spec.analyze().total_params,
        dense_run.spec.analyze().total_params,
    ]
    bars = chart_specs(at)[-1]["data"]
    assert [bar["name"].split(":")[0] for bar in bars] == ["CNN default", "Dense only dense_only"]
    assert not at.warning  # same settings: a fair comparison
    verdict = next(m.value for m in at.markdown if m.value.startswith("Here the "))
    winner = "CNN" if cnn_eval.num_mistakes < dense_eval.num_mistakes else "dense-only network"
    assert verdict.startswith(f"Here the {winner}")

    # From the dense run's side the same two models are compared, CNN first.
    at.selectbox[0].set_value(dense_run.id).run()
    assert at.dataframe[1].value["model"].tolist() == comparison["model"].tolist()


def test_different_settings_are_pointed_out(cnn_run, dense_run):
    other = replace(dense_run, id="dense2", settings={**dense_run.settings, "epochs": 3})
    at = page_with(cnn_run, other)
    at.selectbox[0].set_value(cnn_run.id).run()
    assert "not quite fair" in at.warning[0].value
    assert "epochs: 10 (CNN) vs 3 (dense)" in at.warning[0].value


def test_a_run_whose_data_is_gone_gets_one_clear_error(cnn_run):
    lost = replace(cnn_run, id="lost", dataset_name="my upload")
    at = page_with(cnn_run, lost)
    assert "not available any more" in at.error[0].value
    assert not at.metric
    # Nothing is lost: the other run is still there and evaluates.
    at.selectbox[0].set_value(cnn_run.id).run()
    assert not at.error and at.metric
