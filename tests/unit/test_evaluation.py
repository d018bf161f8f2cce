"""Evaluation: hand-computed cases, scikit-learn's answers, and real Keras models on real MNIST."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics

from dashboard.data.builtins import load_builtin
from dashboard.data.datasets import Dataset
from dashboard.data.images import for_display
from dashboard.data.preprocess import to_model_input
from dashboard.insight.evaluation import (
    Evaluation,
    EvaluationError,
    baseline_spec,
    cell_captions,
    cell_sentence,
    cnn_and_dense,
    comparison_partners,
    comparison_table,
    comparison_trace_names,
    comparison_verdict,
    confusion_matrix,
    cross_entropy,
    dataset_for_run,
    evaluate,
    evaluate_run,
    is_convolutional,
    missing_partner_text,
    most_confident_mistakes,
    pending_partner_text,
    per_class_scores,
    settings_differences,
    summary_metrics,
    unfair_comparison_text,
)
from dashboard.insight.prediction import predict, probabilities_from_output
from dashboard.model.presets import load_preset
from dashboard.training import Run
from dashboard.ui import evaluation_charts

# --- hand-computed ------------------------------------------------------------------------

# 6 images, 3 classes. True: 0 0 1 1 2 2. Predicted: 0 1 1 1 0 2.
Y_TRUE = np.array([0, 0, 1, 1, 2, 2])
PROBS = np.array(
    [
        [0.9, 0.05, 0.05],  # right, 0
        [0.2, 0.7, 0.1],  # wrong: 0 -> 1 at 0.7
        [0.1, 0.8, 0.1],  # right, 1
        [0.3, 0.6, 0.1],  # right, 1
        [0.95, 0.0, 0.05],  # wrong: 2 -> 0 at 0.95
        [0.2, 0.2, 0.6],  # right, 2
    ],
    dtype=np.float32,
)


def test_confusion_matrix_hand_case():
    cm = confusion_matrix(Y_TRUE, PROBS.argmax(1), 3)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_per_class_scores_hand_case():
    scores = per_class_scores(np.array([[1, 1, 0], [0, 2, 0], [1, 0, 1]]), ["a", "b", "c"])
    # a: predicted twice, right once -> P 1/2; 2 images, 1 found -> R 1/2; F1 1/2.
    # b: predicted 3 times, right twice -> P 2/3; R 2/2; F1 = 2*(2/3)/(5/3) = 0.8.
    # c: predicted once, right -> P 1; R 1/2; F1 = 2/3.
    assert scores["class"].tolist() == ["a", "b", "c"]
    assert scores["precision"].tolist() == pytest.approx([0.5, 2 / 3, 1.0])
    assert scores["recall"].tolist() == pytest.approx([0.5, 1.0, 0.5])
    assert scores["F1"].tolist() == pytest.approx([0.5, 0.8, 2 / 3])
    assert scores["support"].tolist() == [2, 2, 2]


def test_class_never_predicted_scores_zero_not_nan():
    scores = per_class_scores(np.array([[2, 0], [1, 0]]), ["x", "y"])
    assert scores.loc[1, ["precision", "recall", "F1"]].tolist() == [0.0, 0.0, 0.0]


def test_cross_entropy_hand_case():
    expected = -np.mean(np.log([0.9, 0.2, 0.8, 0.6, 0.05, 0.6]))
    assert cross_entropy(PROBS, Y_TRUE) == pytest.approx(expected, rel=1e-5)
    # A probability of 0 for the true class is clipped like Keras does, not infinite.
    assert cross_entropy(PROBS[4:5], np.array([1])) == pytest.approx(-np.log(1e-7), rel=1e-5)


def test_most_confident_mistakes_sorted_by_confidence():
    table = most_confident_mistakes(PROBS, Y_TRUE, count=5)
    assert table["index"].tolist() == [4, 1]
    assert table["true"].tolist() == [2, 0]
    assert table["predicted"].tolist() == [0, 1]
    assert table["confidence"].tolist() == pytest.approx([0.95, 0.7])
    assert most_confident_mistakes(PROBS, Y_TRUE, count=1)["index"].tolist() == [4]


def test_evaluation_cell_worst_cell_and_captions():
    images = np.zeros((6, 4, 4, 1), np.uint8)
    ev = Evaluation(["a", "b", "c"], images, Y_TRUE, PROBS)
    assert ev.accuracy == pytest.approx(4 / 6)
    assert ev.num_mistakes == 2
    assert ev.cell(1, 1).tolist() == [2, 3]  # 0.8 before 0.6
    assert ev.cell(2, 0).tolist() == [4]
    assert ev.cell(2, 1).tolist() == []
    # Two mistakes of one image each: the first in row-major order wins.
    assert ev.worst_cell() == (0, 1)
    assert ev.mistakes(2)["caption"].tolist() == [
        "true c, predicted a (95%)",
        "true a, predicted b (70%)",
    ]


def test_what_the_page_writes_about_the_numbers_and_a_cell():
    ev = Evaluation(["a", "b", "c"], np.zeros((6, 4, 4, 1), np.uint8), Y_TRUE, PROBS)
    assert summary_metrics(ev) == {
        "Test accuracy": "66.67%",
        "Test loss": f"{ev.loss:.4f}",
        "Test images": "6",
        "Mistakes": "2",
    }
    names = ev.class_names
    assert cell_sentence(names, 1, 1, 2, 2) == (
        "**2** test images of class **b** were predicted as **b** (right):"
    )
    assert cell_sentence(names, 2, 0, 60, 48) == (
        "**60** test images of class **c** were predicted as **a** (wrong); "
        "the 48 the model was surest of:"
    )
    assert cell_sentence(names, 2, 1, 0, 0) == (
        "No test image of class **c** was predicted as **b**."
    )
    # One image is one image, not "1 test images ... were".
    assert cell_sentence(names, 0, 1, 1, 1) == (
        "**1** test image of class **a** was predicted as **b** (wrong):"
    )
    assert cell_captions(ev, ev.cell(1, 1)) == ["#2: 80%", "#3: 60%"]


def test_worst_cell_without_mistakes():
    ev = Evaluation(
        ["a", "b"], np.zeros((2, 2, 2, 1), np.uint8), [0, 1], np.eye(2, dtype=np.float32)
    )
    assert ev.worst_cell() == (0, 0)
    assert ev.mistakes().empty


def test_sigmoid_output_becomes_two_columns():
    probs = probabilities_from_output(np.array([[0.9], [0.2], [0.5]]))
    np.testing.assert_allclose(probs, [[0.1, 0.9], [0.8, 0.2], [0.5, 0.5]], rtol=1e-6)
    # p = 0.5 counts as class 0, as Keras' binary accuracy (p > 0.5) does.
    assert probs.argmax(1).tolist() == [1, 0, 0]


def test_agrees_with_scikit_learn_on_random_predictions():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 5, 300)
    logits = rng.normal(size=(300, 5)) + 2 * np.eye(5)[y_true]
    probs = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype(np.float32)
    ev = Evaluation([str(i) for i in range(5)], np.zeros((300, 2, 2, 1), np.uint8), y_true, probs)
    y_pred = probs.argmax(1)
    assert (ev.confusion == metrics.confusion_matrix(y_true, y_pred, labels=range(5))).all()
    p, r, f, s = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=range(5), zero_division=0
    )
    scores = ev.scores()
    np.testing.assert_allclose(scores["precision"], p)
    np.testing.assert_allclose(scores["recall"], r)
    np.testing.assert_allclose(scores["F1"], f)
    assert scores["support"].tolist() == s.tolist()
    assert ev.accuracy == pytest.approx(metrics.accuracy_score(y_true, y_pred))
    assert ev.loss == pytest.approx(metrics.log_loss(y_true, probs, labels=range(5)), rel=1e-5)


def test_to_model_input_scales_uint8_only():
    x = np.array([[0, 128, 255]], np.uint8)
    out = to_model_input(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.0, 128 / 255, 1.0]], rtol=1e-6)
    with pytest.raises(TypeError, match="uint8"):
        to_model_input(out)


def test_for_display_enlarges_small_images_with_sharp_pixels():
    img = np.arange(4, dtype=np.uint8).reshape(2, 2, 1)
    big = for_display(img, size=8)
    assert big.shape == (8, 8)
    assert big[:4, :4].tolist() == [[0] * 4] * 4 and big[4:, 4:].tolist() == [[3] * 4] * 4
    assert for_display(np.zeros((100, 100, 3), np.uint8)).shape == (100, 100, 3)


# --- charts -------------------------------------------------------------------------------


def test_confusion_chart_shows_counts_and_has_one_click_target_per_cell():
    cm = np.array([[5, 1, 0], [0, 7, 2], [3, 0, 4]])
    fig = evaluation_charts.confusion_figure(cm, ["cat", "dog", "fox"])
    heatmap, targets = fig.data
    assert heatmap.type == "heatmap"
    assert np.asarray(heatmap.z).tolist() == cm.tolist()
    assert heatmap.texttemplate  # text_auto: the counts are written in the cells
    assert list(heatmap.x) == ["cat", "dog", "fox"]
    assert targets.type == "scatter" and len(targets.x) == 9
    # Row-major: point 5 is true 'dog' (row 1), predicted 'fox' (column 2).
    assert (targets.y[5], targets.x[5]) == ("dog", "fox")
    assert targets.customdata[5].tolist() == [1, 2, 2]
    assert fig.layout.coloraxis.cmax == 6  # twice the largest mistake (3)
    assert not fig.layout.shapes
    outlined = evaluation_charts.confusion_figure(cm, ["cat", "dog", "fox"], highlight=(1, 2))
    (box,) = outlined.layout.shapes
    # Column 2 ('fox' predicted), row 1 ('dog' true) on the category axes.
    assert (box.x0, box.x1, box.y0, box.y1) == (1.5, 2.5, 0.5, 1.5)


def test_confusion_cell_from_selection():
    click = {"points": [{"curve_number": 1, "point_index": 5, "x": "fox", "y": "dog"}]}
    assert evaluation_charts.confusion_cell_from_selection(click, 3) == (1, 2)
    assert evaluation_charts.confusion_cell_from_selection({"points": []}, 3) is None
    assert evaluation_charts.confusion_cell_from_selection(None, 3) is None
    # A click that landed on the heatmap trace itself carries no cell we trust.
    assert (
        evaluation_charts.confusion_cell_from_selection(
            {"points": [{"curve_number": 0, "point_index": 2}]}, 3
        )
        is None
    )


def test_class_scores_and_comparison_charts():
    scores = per_class_scores(np.array([[1, 1], [0, 2]]), ["0", "1"])
    fig = evaluation_charts.class_scores_figure(scores)
    assert {trace.name for trace in fig.data} == {"precision", "recall", "F1"}
    fig = evaluation_charts.cnn_vs_dense_figure(
        ["0", "1"], np.array([1.0, 0.9]), np.array([0.5, 0.4]), "CNN", "Dense"
    )
    assert [trace.name for trace in fig.data] == ["CNN", "Dense"]
    assert list(fig.data[1].y) == [0.5, 0.4]


# --- runs and comparison, without training ------------------------------------------------------


def make_run(run_id, preset="default", dataset="digits", settings=None, model="model", **kw):
    spec = load_preset(preset)
    return Run(
        run_id,
        spec,
        dataset,
        [str(i) for i in range(10)],
        dict(settings or {}),
        "done",
        model,
        **kw,
    )


def test_dataset_for_run_prefers_an_attached_dataset():
    run = make_run("r1", dataset="my upload")
    with pytest.raises(EvaluationError, match="not available"):
        dataset_for_run(run)
    attached = load_builtin("digits")
    run.dataset = attached
    assert dataset_for_run(run) is attached
    assert dataset_for_run(make_run("r2", dataset="digits")).x_test.shape == (360, 8, 8, 1)


def test_evaluate_run_refuses_clearly():
    with pytest.raises(EvaluationError, match="no model yet"):
        evaluate_run(make_run("r1", model=None))
    # default preset is 28×28×1; digits are 8×8×1.
    with pytest.raises(EvaluationError, match=r"takes 28×28×1 images .* 8×8×1"):
        evaluate_run(make_run("r2", dataset="digits"))


def test_comparison_partners_pick_the_other_kind_on_the_same_data():
    cnn = make_run("cnn", settings={"epochs": 2})
    dense_other_settings = make_run("d1", "dense_only", settings={"epochs": 5})
    dense_same = make_run("d2", "dense_only", settings={"epochs": 2})
    dense_other_data = make_run("d3", "dense_only", dataset="mnist", settings={"epochs": 2})
    untrained = make_run("d4", "dense_only", settings={"epochs": 2}, model=None)
    other_cnn = make_run("cnn2", settings={"epochs": 2})
    runs = [dense_other_settings, dense_same, dense_other_data, untrained, other_cnn, cnn]
    assert [r.id for r in comparison_partners(cnn, runs)] == ["d2", "d1"]
    assert [r.id for r in comparison_partners(dense_same, runs)] == ["cnn2", "cnn"]
    assert settings_differences(cnn, dense_other_settings) == [("epochs", 2, 5)]
    assert is_convolutional(cnn.spec) and not is_convolutional(dense_same.spec)


def test_baseline_spec_fits_the_run():
    spec = replace(load_preset("default"), input_shape=(32, 32, 3), num_classes=2)
    base = baseline_spec(spec)
    assert base.name == "dense_only" and not is_convolutional(base)
    assert base.input_shape == (32, 32, 3) and base.num_classes == 2
    assert base.analyze().ok


# --- real models on real MNIST ------------------------------------------------------------------


def _train(spec, x, y, epochs=1, seed=0):
    from dashboard.model.keras_model import build_model

    model = build_model(spec, seed=seed)
    model.compile(optimizer="adam", loss=spec.loss_name(), metrics=["accuracy"])
    model.fit(to_model_input(x), y, epochs=epochs, batch_size=64, verbose=0)
    return model


@pytest.fixture(scope="module")
def mnist(mnist_path) -> Dataset:
    dataset = load_builtin("mnist")
    assert dataset.x_test.shape == (5000, 28, 28, 1)
    return dataset


@pytest.fixture(scope="module")
def mnist_model(mnist):
    return _train(load_preset("default"), mnist.x_train[:4000], mnist.y_train[:4000])


def test_real_model_on_mnist(mnist, mnist_model):
    ev = evaluate(mnist_model, mnist.x_test, mnist.y_test, mnist.class_names, batch_size=500)
    assert ev.confusion.sum() == 5000 == ev.num_test
    y_pred = mnist_model.predict(to_model_input(mnist.x_test), verbose=0).argmax(1)
    # Batched prediction gives the same answers as one big predict.
    assert (ev.y_pred == y_pred).all()
    assert (ev.confusion == metrics.confusion_matrix(mnist.y_test, y_pred, labels=range(10))).all()
    assert 0.8 < ev.accuracy < 1.0
    loss, accuracy = mnist_model.evaluate(to_model_input(mnist.x_test), mnist.y_test, verbose=0)
    assert ev.loss == pytest.approx(loss, rel=1e-3)
    assert ev.accuracy == pytest.approx(accuracy, abs=1e-6)
    mistakes = ev.mistakes(10)
    assert len(mistakes) == 10
    assert (mistakes["true"] != mistakes["predicted"]).all()
    assert mistakes["confidence"].is_monotonic_decreasing
    assert (mnist.y_test[mistakes["index"]] == mistakes["true"]).all()


def test_real_sigmoid_model_on_two_mnist_classes(mnist):
    # Threes against fives: one sigmoid unit, as the spec gives two classes.
    def pick(x, y):
        keep = np.isin(y, [3, 5])
        return x[keep], (y[keep] == 5).astype(np.int64)

    x_train, y_train = pick(mnist.x_train[:8000], mnist.y_train[:8000])
    x_test, y_test = pick(mnist.x_test, mnist.y_test)
    spec = replace(load_preset("default"), num_classes=2)
    assert spec.output_layer().params == {"units": 1, "activation": "sigmoid"}
    model = _train(spec, x_train, y_train, epochs=2)
    assert model.output_shape == (None, 1)
    ev = evaluate(model, x_test, y_test, ["three", "five"], batch_size=100)
    assert ev.probabilities.shape == (len(y_test), 2)
    assert ev.confusion.sum() == len(y_test)
    assert ev.accuracy > 0.9
    loss, accuracy = model.evaluate(to_model_input(x_test), y_test, verbose=0)
    assert ev.loss == pytest.approx(loss, rel=1e-3)
    assert ev.accuracy == pytest.approx(accuracy, abs=1e-6)


def test_wrong_class_count_is_refused(mnist, mnist_model):
    with pytest.raises(EvaluationError, match="10 classes but the test data has 2"):
        evaluate(mnist_model, mnist.x_test[:10], mnist.y_test[:10] % 2, ["a", "b"])


def test_predict_of_a_run_and_comparison_table(mnist, mnist_model):
    cnn = make_run("cnn", dataset="mnist", model=mnist_model, history=[{"loss": 1.0}])
    ev = evaluate_run(cnn)
    assert ev.num_test == 5000
    probs = predict(mnist_model, mnist.x_test[:7], batch_size=3)
    np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-5)
    table = comparison_table((cnn, ev), (cnn, ev))
    assert table["parameters"].tolist() == [cnn.spec.analyze().total_params] * 2
    assert table["epochs"].tolist() == [1, 1]
    assert table["model"][0].startswith("CNN: default")


def test_comparison_verdict_names_the_winner_and_sizes():
    def table(cnn_mistakes, dense_mistakes, cnn_params, dense_params):
        return pd.DataFrame(
            {
                "test accuracy": [1 - cnn_mistakes / 100, 1 - dense_mistakes / 100],
                "mistakes": [cnn_mistakes, dense_mistakes],
                "parameters": [cnn_params, dense_params],
            }
        )

    assert comparison_verdict(table(2, 5, 1000, 4000)) == (
        "Here the CNN makes 3 fewer mistakes (98.00% against 95.00%) with 4.0× fewer parameters."
    )
    verdict = comparison_verdict(table(5, 5, 2000, 1000))
    assert verdict.startswith(
        "Here the dense-only network does as well or better (95.00% against 95.00%"
    )
    assert "the CNN has 2.0× more parameters" in verdict


def test_what_the_page_writes_about_the_comparison():
    cnn = make_run("cnn1", settings={"epochs": 10, "seed": 0})
    dense = make_run("dense1", "dense_only", settings={"epochs": 3, "seed": 0})
    ev = Evaluation(["a", "b", "c"], np.zeros((6, 4, 4, 1), np.uint8), Y_TRUE, PROBS)
    # From either run's side, the CNN comes first.
    assert cnn_and_dense((dense, ev), (cnn, ev)) == ((cnn, ev), (dense, ev))
    assert cnn_and_dense((cnn, ev), (dense, ev)) == ((cnn, ev), (dense, ev))
    assert comparison_trace_names((cnn, ev), (dense, ev)) == (
        "CNN default: 66.67%",
        "Dense only dense_only: 66.67%",
    )
    assert unfair_comparison_text([]) is None
    assert unfair_comparison_text(settings_differences(cnn, dense)) == (
        "The two runs were not trained the same way, so the comparison is not quite fair: "
        "epochs: 10 (CNN) vs 3 (dense)."
    )
    assert missing_partner_text(cnn) == (
        "There is no dense-only run on digits to compare with yet. To make one, load the "
        "**dense_only** preset on the **Build** page and train it on **digits** on the "
        "**Train** page with the same settings as this run (epochs 10, seed 0), then come "
        "back here."
    )
    assert missing_partner_text(make_run("dense2", "dense_only")).startswith(
        "There is no CNN run on digits to compare with yet. To make one, load a CNN preset "
        "(the **default** one is fast)"
    )
    assert "as this run (the defaults)" in missing_partner_text(make_run("dense2", "dense_only"))
    pending = replace(make_run("d3", "dense_only", model=None), status="training")
    assert pending_partner_text(pending) == (
        "Run d3 (dense_only) is training on the same data; the comparison appears here when "
        "it finishes."
    )
