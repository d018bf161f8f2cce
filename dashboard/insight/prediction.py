"""The one prediction function: uint8 images in, class probabilities out.

Evaluate, Classify, Grad-CAM and the CLI all predict through `predict`, so the
scaling (`preprocess.to_model_input`), batching and the sigmoid/softmax handling
are the same wherever a model answers. TensorFlow is never imported here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dashboard.data.preprocess import PIXEL_MAX, to_model_input

PREDICT_BATCH = 256  # images per forward pass: keeps the float copy at one batch
RESCALING_LAYERS = ("Rescaling", "Normalization")


def input_divisor(model: Any) -> float:
    """What uint8 pixels are divided by for the model's input: 255, unless the model
    rescales itself in one of its first layers (a model from elsewhere may)."""
    own = any(type(layer).__name__ in RESCALING_LAYERS for layer in model.layers[:3])
    return 1.0 if own else PIXEL_MAX


def outputs_logits(model: Any) -> bool:
    """True when the last layer has no softmax/sigmoid, so its scores are logits."""
    last = model.layers[-1]
    if type(last).__name__ == "Softmax":
        return False
    activation = getattr(getattr(last, "activation", None), "__name__", "linear")
    return activation not in ("softmax", "sigmoid")


def probabilities_from_output(output: np.ndarray, logits: bool = False) -> np.ndarray:
    """Model output -> (N, K) class probabilities.

    A 1-unit output (two classes, see ModelSpec.output_layer) gives P(class 1);
    it becomes the two columns [1 - p, p]. `logits` applies the sigmoid/softmax
    the model left out.

    >>> probabilities_from_output(np.array([[0.75]])).tolist()
    [[0.25, 0.75]]
    """
    scores = np.asarray(output, dtype=np.float64)
    if scores.ndim == 1 or scores.shape[-1] == 1:
        p = scores.reshape(-1)
        if logits:
            p = 1 / (1 + np.exp(-p))
        return np.stack([1 - p, p], axis=1).astype(np.float32)
    if logits:
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        scores /= scores.sum(axis=1, keepdims=True)
    return scores.astype(np.float32)


def predict(
    model: Any, images: np.ndarray | list[np.ndarray], batch_size: int = PREDICT_BATCH
) -> np.ndarray:
    """(N, K) class probabilities of uint8 images (N, H, W, C), batch by batch.

    Converting one batch at a time keeps memory at one batch of float32 instead of a
    float copy of the whole set; calling the model directly skips predict()'s
    per-call setup, which dominates for the few images Classify sends.
    """
    images = np.asarray(images)
    divisor, logits = input_divisor(model), outputs_logits(model)
    units = int(model.output_shape[-1])
    if len(images) == 0:
        return np.zeros((0, 2 if units == 1 else units), dtype=np.float32)
    parts = [
        probabilities_from_output(
            np.asarray(model(to_model_input(images[i : i + batch_size], divisor), training=False)),
            logits,
        )
        for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(parts)


def top_k(probs: np.ndarray, class_names: list[str], k: int = 5) -> list[tuple[str, float]]:
    """The k most probable classes of one image's probabilities, best first.

    >>> top_k(np.array([0.1, 0.7, 0.2]), ["a", "b", "c"], k=2)
    [('b', 0.7), ('c', 0.2)]
    """
    order = np.argsort(-probs, kind="stable")[: max(1, min(k, len(probs)))]
    return [(class_names[i], float(probs[i])) for i in order]
