"""Why a model answered: feature maps, first-layer filters and Grad-CAM.

TensorFlow is imported lazily, inside the functions that need it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from dashboard.data.preprocess import to_model_input
from dashboard.insight.models import Classifier

CONV_TYPES = ("Conv2D", "DepthwiseConv2D", "SeparableConv2D")
POOL_TYPES = ("MaxPooling2D", "AveragePooling2D")


def _graph(classifier: Classifier) -> tuple[Any, dict[str, Any]]:
    """(inputs, {layer name: symbolic output}) of one consistent graph of the model.

    A Sequential model loaded from a file has called its layers more than once, so
    `layer.output` and the next layer's `input` can belong to different graphs and
    gradients between them are None. For Sequential models the chain is traced anew
    on a fresh Input (same layers, same weights); functional models keep their graph.
    """
    if "graph" not in classifier._cache:
        import keras

        model = classifier.model
        if isinstance(model, keras.Sequential):
            inputs = keras.Input(shape=model.input_shape[1:], name="image")
            outputs, x = {}, inputs
            for layer in model.layers:
                x = layer(x)
                outputs[layer.name] = x
        else:
            # One input (check_model): pass the tensor, not a list, so calls match it.
            inputs = model.inputs[0]
            outputs = {layer.name: layer.output for layer in model.layers}
        classifier._cache["graph"] = (inputs, outputs)
    return classifier._cache["graph"]


def feature_layers(classifier: Classifier) -> list[str]:
    """Names of the conv and pooling layers whose outputs are feature maps (H, W, C)."""
    return [
        layer.name
        for layer in classifier.model.layers
        if type(layer).__name__ in CONV_TYPES + POOL_TYPES and len(layer.output.shape) == 4
    ]


def feature_maps(classifier: Classifier, array: np.ndarray) -> dict[str, np.ndarray]:
    """Every conv and pooling layer's output (H, W, C) for one uint8 image (H, W, C)."""
    names = feature_layers(classifier)
    if not names:
        return {}
    if "features" not in classifier._cache:
        import keras

        inputs, graph = _graph(classifier)
        classifier._cache["features"] = keras.Model(inputs, [graph[name] for name in names])
    x = to_model_input(array[None], classifier.input_divisor)
    results = classifier._cache["features"](x, training=False)
    if len(names) == 1:
        results = [results]
    return {name: np.asarray(out)[0] for name, out in zip(names, results, strict=True)}


def first_conv_filters(classifier: Classifier) -> np.ndarray | None:
    """Kernels of the first Conv2D layer, (kh, kw, in_channels, filters), or None."""
    for layer in classifier.model.layers:
        if type(layer).__name__ == "Conv2D":
            return np.asarray(layer.get_weights()[0])
    return None


def last_conv_layer(classifier: Classifier) -> str | None:
    """Name of the last conv layer with a spatial output: where Grad-CAM looks."""
    convs = [
        name
        for name in feature_layers(classifier)
        if type(classifier.model.get_layer(name)).__name__ in CONV_TYPES
    ]
    return convs[-1] if convs else None


def _class_gradients(
    classifier: Classifier, array: np.ndarray, class_index: int | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """(last conv layer's output A, d score / d A, the class explained) for one uint8
    image; the score is the class's logit, taken before softmax/sigmoid, so a confident
    prediction still has gradients (as in the Grad-CAM paper and keras-io's example).

    Long because the heads a model may have (logits, softmax, sigmoid) each need their score.
    """
    import tensorflow as tf

    conv_name = last_conv_layer(classifier)
    if conv_name is None:
        raise ValueError("This model has no conv layer, so Grad-CAM has nothing to look at.")
    model = classifier.model
    last = model.layers[-1]
    # With a Dense softmax/sigmoid head, read the layer's input and redo its matmul
    # to get logits: gradients of a saturated probability are near zero.
    use_logits = type(last).__name__ == "Dense" and not classifier.outputs_logits
    if "gradcam" not in classifier._cache:
        import keras

        inputs, graph = _graph(classifier)
        if not use_logits:
            head = graph[last.name]
        elif isinstance(model, keras.Sequential):
            # In a chain the head's input is the previous layer's output.
            head = graph[model.layers[-2].name] if len(model.layers) > 1 else inputs
        else:
            head = last.input
        classifier._cache["gradcam"] = keras.Model(inputs, [graph[conv_name], head])
    x = tf.constant(to_model_input(array[None], classifier.input_divisor))
    with tf.GradientTape() as tape:
        conv_out, head = classifier._cache["gradcam"](x, training=False)
        if use_logits:
            scores = tf.matmul(head, last.kernel)
            if last.bias is not None:
                scores = scores + last.bias
        elif classifier.outputs_logits:
            scores = head
        else:
            # Probabilities from a head we cannot undo: log-odds / log-probabilities.
            p = tf.clip_by_value(head, 1e-7, 1 - 1e-7)
            scores = tf.math.log(p) - tf.math.log(1 - p) if classifier.binary else tf.math.log(p)
        if classifier.binary:
            # One logit z for class 1; class 0's score is -z.
            z = scores[:, 0]
            target = int(z[0] > 0) if class_index is None else int(class_index)
            score = z if target == 1 else -z
        else:
            target = int(tf.argmax(scores[0])) if class_index is None else int(class_index)
            score = scores[:, target]
    grads = tape.gradient(score, conv_out)
    return np.asarray(conv_out[0], np.float32), np.asarray(grads[0], np.float32), target


def _to_image_size(cam: np.ndarray, array: np.ndarray) -> np.ndarray:
    """A map of the conv layer's size, enlarged to the image's and scaled to 0..1."""
    height, width = array.shape[:2]
    cam = np.asarray(Image.fromarray(cam).resize((width, height), Image.BILINEAR), np.float32)
    peak = float(cam.max())
    return cam / peak if peak > 0 else cam


def grad_cam(
    classifier: Classifier, array: np.ndarray, class_index: int | None = None
) -> tuple[np.ndarray, int]:
    """Grad-CAM (Selvaraju et al., 2017) from the last conv layer for one uint8 image.

    Returns (heatmap in 0..1 of the image's height × width, the class explained);
    `class_index` None explains the predicted class. Each feature map is weighted by
    its gradient averaged over the image: the map is empty when those weights pull
    the score down wherever the maps fire.
    """
    conv_out, grads, target = _class_gradients(classifier, array, class_index)
    return _to_image_size(_grad_cam_map(conv_out, grads), array), target


def _grad_cam_map(conv_out: np.ndarray, grads: np.ndarray) -> np.ndarray:
    """Each feature map weighted by its gradient averaged over the image, at layer size."""
    weights = grads.mean(axis=(0, 1))  # one weight per channel
    return np.maximum((conv_out * weights).sum(axis=-1), 0)


@dataclass
class Explanation:
    """A class-activation map and how it was made, in words for the page."""

    heatmap: np.ndarray  # 0..1, the image's height × width
    target: int
    method: str  # "Grad-CAM" or "LayerCAM"
    why: str  # empty, or why Grad-CAM alone would show nothing


def explain_class(
    classifier: Classifier, array: np.ndarray, class_index: int | None = None
) -> Explanation:
    """Grad-CAM, or where its map is empty, LayerCAM (Jiang et al., 2021): each place
    weighted by its own positive gradient instead of the image's average. On a small
    CNN with a linear read-out Grad-CAM is empty for about a quarter of MNIST digits
    (56 of the first 200 test images with the shipped model)."""
    # One backward pass serves both maps: the fallback needs the same gradients.
    conv_out, grads, target = _class_gradients(classifier, array, class_index)
    cam = _grad_cam_map(conv_out, grads)
    if cam.max() > 0:
        return Explanation(_to_image_size(cam, array), target, "Grad-CAM", "")
    layer = np.maximum((conv_out * np.maximum(grads, 0)).sum(axis=-1), 0)
    why = (
        "Averaged over the whole image, every feature map of this layer pulls the score "
        "down, so Grad-CAM's map is empty; this map weighs each place by its own gradient "
        "instead (LayerCAM)."
    )
    if layer.max() > 0:
        return Explanation(_to_image_size(layer, array), target, "LayerCAM", why)
    why = (
        "Wherever this layer's feature maps fire on this image, they speak against the "
        "class, so no place raises its score and the map is empty."
    )
    return Explanation(_to_image_size(layer, array), target, "LayerCAM", why)
