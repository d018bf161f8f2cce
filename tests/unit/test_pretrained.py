"""The pretrained digits model shipped in models/pretrained: small, safe to load, and right."""

from __future__ import annotations

import numpy as np

from dashboard.insight import models, prediction
from dashboard.model.keras_model import layer_name


def test_pretrained_model_is_small_and_loads_in_safe_mode():
    path = models.PRETRAINED_DIR / f"{models.PRETRAINED_NAME}.keras"
    assert path.stat().st_size < 100_000
    # The same safe loader an upload goes through accepts it.
    classifier = models.load_model_file(path.read_bytes(), path.name)
    assert classifier.input_shape == (28, 28, 1)
    assert classifier.class_names == [str(d) for d in range(10)]


def test_pretrained_model_classifies_mnist_test_at_98_percent(mnist_path):
    classifier = models.load_pretrained()
    with np.load(mnist_path) as data:
        x_test, y_test = data["x_test"], data["y_test"]
    probs = prediction.predict(classifier.model, x_test[..., None])
    accuracy = float((probs.argmax(axis=1) == y_test).mean())
    assert len(x_test) == 5000
    assert accuracy >= 0.98, f"{accuracy:.2%}"


def test_pretrained_model_matches_its_spec():
    classifier = models.load_pretrained()
    spec = classifier.spec
    analysis = spec.analyze()
    assert classifier.param_count == analysis.total_params
    names = [layer_name(i, layer) for i, layer in enumerate(spec.layers, start=1)]
    for name, info in zip(names, analysis.layers, strict=False):
        assert tuple(classifier.model.get_layer(name).output.shape[1:]) == info.output_shape
