"""What a Keras 3 `.keras` file's config.json declares, read before Keras builds it.

`keras.models.load_model` creates every weight the config declares before it reads
the weights file, so a 58 KB file can ask for gigabytes. Keras 3 saves each layer
with a `build_config` holding its input shape; from that and the layer's own config
the weights each layer will create follow without building anything. No TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Layers whose weights follow from a kernel over the input's last axis.
_CONV_CLASSES = {
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "Conv1DTranspose",
    "Conv2DTranspose",
    "Conv3DTranspose",
    "Convolution1D",
    "Convolution2D",
    "Convolution3D",
}
_MODEL_CLASSES = {"Sequential", "Functional", "Model"}
# Layers whose weights depend on their input's size.
_WEIGHTED_CLASSES = _CONV_CLASSES | {
    "Dense",
    "EinsumDense",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "SeparableConv1D",
    "SeparableConv2D",
    "BatchNormalization",
    "LayerNormalization",
    "GroupNormalization",
}


@dataclass(frozen=True)
class DeclaredModel:
    """What building the model will allocate, and the image size it takes."""

    params: int  # weights Keras creates (floats)
    input_shape: tuple[int | None, ...] | None  # the first input's shape, batch axis dropped
    layers: int
    # Layers that create weights but were saved without their input shape: their
    # weights cannot be known before building, so such a file is refused.
    unsized: int = 0


def _dims(shape: Any) -> list[int]:
    """The known dimensions of a saved shape (None, the batch axis, dropped as 1)."""
    if not isinstance(shape, list | tuple):
        return []
    return [
        int(v) if isinstance(v, int) and not isinstance(v, bool) and v > 0 else 1 for v in shape
    ]


def _pair(value: Any, rank: int) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return [max(1, value)] * rank
    return [max(1, int(v)) for v in value] if isinstance(value, list | tuple) else [1] * rank


def _int(config: dict, key: str, default: int = 0) -> int:
    value = config.get(key, default)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def _layer_params(class_name: str, config: dict, input_shape: list[int]) -> int:
    """Floats a standard layer creates for an input of `input_shape` (batch axis first)."""
    channels = input_shape[-1] if input_shape else 1
    bias = bool(config.get("use_bias", True))
    if class_name == "Dense" or class_name == "EinsumDense":
        units = _int(config, "units", 1)
        return channels * units + (units if bias else 0)
    if class_name in _CONV_CLASSES:
        filters = _int(config, "filters", 1)
        rank = max(1, len(input_shape) - 2)
        kernel = math.prod(_pair(config.get("kernel_size", 1), rank))
        return kernel * channels * filters + (filters if bias else 0)
    if class_name == "DepthwiseConv2D" or class_name == "DepthwiseConv1D":
        multiplier = _int(config, "depth_multiplier", 1)
        kernel = math.prod(_pair(config.get("kernel_size", 1), max(1, len(input_shape) - 2)))
        return kernel * channels * multiplier + (channels * multiplier if bias else 0)
    if class_name in ("SeparableConv2D", "SeparableConv1D"):
        multiplier = _int(config, "depth_multiplier", 1)
        filters = _int(config, "filters", 1)
        kernel = math.prod(_pair(config.get("kernel_size", 1), max(1, len(input_shape) - 2)))
        return kernel * channels * multiplier + channels * multiplier * filters + filters
    if class_name == "BatchNormalization":
        return 4 * channels
    if class_name in ("LayerNormalization", "GroupNormalization"):
        return 2 * channels
    if class_name == "Embedding":
        return _int(config, "input_dim", 1) * _int(config, "output_dim", 1)
    # Any other layer that declares a size over the input's last axis.
    size = max(_int(config, "units"), _int(config, "filters"))
    return channels * size if size else 0


def _walk(node: Any, depth: int = 0) -> Iterator[tuple[str, dict, list[int]]]:
    """(class name, config, input shape) for every layer, nested models included."""
    if depth > 20 or not isinstance(node, dict):
        return
    class_name = str(node.get("class_name", ""))
    config = node.get("config") if isinstance(node.get("config"), dict) else {}
    if class_name in _MODEL_CLASSES or "layers" in config:
        for layer in config.get("layers") or []:
            yield from _walk(layer, depth + 1)
        return
    build = node.get("build_config") if isinstance(node.get("build_config"), dict) else {}
    shape = build.get("input_shape")
    if class_name == "InputLayer":
        shape = config.get("batch_shape") or config.get("batch_input_shape")
    yield class_name, config, _dims(shape)


def declared_model(config: dict) -> DeclaredModel:
    """The weights and input size a `.keras` config.json declares."""
    params = layers = unsized = 0
    input_shape = None
    for class_name, layer_config, shape in _walk(config):
        layers += 1
        if not shape and class_name in _WEIGHTED_CLASSES:
            unsized += 1
        if input_shape is None and shape and class_name in ("InputLayer", *_CONV_CLASSES):
            raw = layer_config.get("batch_shape") if class_name == "InputLayer" else None
            input_shape = tuple(raw[1:]) if isinstance(raw, list) else tuple(shape[1:])
        params += _layer_params(class_name, layer_config, shape)
    return DeclaredModel(params, input_shape, layers, unsized)
