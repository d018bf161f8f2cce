"""What follows from a spec without TensorFlow: each layer's output shape, parameters,
multiply-adds and activations, the memory training needs, and what does not fit.
Tests hold it to Keras' own answers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dashboard.model.shape_math import formula_text, output_size
from dashboard.model.spec import (
    SPATIAL_TYPES,
    LayerSpec,
    ModelSpec,
    Shape,
    layer_setting_errors,
    model_setting_errors,
    shape_text,
)

# Community Cloud gives an app about 2.7 GB; TensorFlow and Streamlit take ~0.7 GB of it.
CLOUD_MEMORY_BYTES = int(2.7e9)
RUNTIME_OVERHEAD_BYTES = int(0.7e9)
BYTES_PER_FLOAT = 4
# Trainable weights cost weights + gradients + two Adam slots.
TRAINING_COPIES_PER_WEIGHT = 4


@dataclass
class LayerInfo:
    """What spec.py knows about one layer: its row in the build table."""

    index: int  # 1-based position; the output layer is len(layers) + 1
    type: str
    summary: str
    output_shape: Shape | None
    trainable_params: int = 0
    non_trainable_params: int = 0
    macs: int = 0
    error: str | None = None
    formula: str | None = None
    is_output: bool = False

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params


@dataclass
class Analysis:
    """Result of analyzing a spec: one LayerInfo per layer plus totals."""

    layers: list[LayerInfo]
    problems: list[str]  # settings problems that are not tied to a layer's fit
    batch_size: int

    @property
    def errors(self) -> list[LayerInfo]:
        return [info for info in self.layers if info.error]

    @property
    def ok(self) -> bool:
        return not self.problems and not self.errors

    @property
    def trainable_params(self) -> int:
        return sum(info.trainable_params for info in self.layers)

    @property
    def non_trainable_params(self) -> int:
        return sum(info.non_trainable_params for info in self.layers)

    @property
    def total_params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @property
    def model_megabytes(self) -> float:
        return self.total_params * BYTES_PER_FLOAT / 1e6

    @property
    def macs(self) -> int:
        return sum(info.macs for info in self.layers)

    @property
    def output_shape(self) -> Shape | None:
        return self.layers[-1].output_shape if self.layers else None

    def activation_elements(self) -> int:
        """Floats of every layer's output for one image (what backprop keeps)."""
        return sum(math.prod(info.output_shape) for info in self.layers if info.output_shape)

    def training_memory_bytes(self, input_elements: int) -> int:
        """Rough memory to train one batch: activations and their gradients, plus weights,
        gradients and optimizer slots. It is an estimate, on the safe side of Keras' real use."""
        per_image = (input_elements + self.activation_elements()) * 2
        weights = self.trainable_params * TRAINING_COPIES_PER_WEIGHT + self.non_trainable_params
        return (per_image * self.batch_size + weights) * BYTES_PER_FLOAT

    def fits_cloud(self, input_elements: int) -> bool:
        return (
            self.training_memory_bytes(input_elements) + RUNTIME_OVERHEAD_BYTES
            <= CLOUD_MEMORY_BYTES
        )


def _spatial_message(
    layer: LayerSpec,
    index: int,
    shape: Shape,
    kernel: int,
    stride: int,
    padding: str,
    dilation: int,
) -> tuple[str, str]:
    h, w = shape[0], shape[1]
    axis_size = min(h, w)
    formula = formula_text(axis_size, kernel, stride, padding, dilation)
    span = dilation * (kernel - 1) + 1
    what = "kernel" if layer.type == "Conv2D" else "pool window"
    reach = f" (spanning {span} pixels with dilation {dilation})" if dilation > 1 else ""
    msg = (
        f"Layer {index} ({layer.type}): the {kernel}×{kernel} {what}{reach} does not fit its "
        f"{h}×{w} input with {padding} padding, so the output size is "
        f"{formula}. Use 'same' padding, a smaller {what}, or fewer pooling layers before it."
    )
    return msg, formula


def _infer_layer(layer: LayerSpec, index: int, shape: Shape) -> LayerInfo:
    """Shape, parameters and multiply-adds of one layer given its input shape.

    Long because it is one short branch per layer type, side by side to compare.
    """
    p = layer.params
    info = LayerInfo(index, layer.type, layer.summary(), None)
    if layer.type in SPATIAL_TYPES and len(shape) != 3:
        info.error = (
            f"Layer {index} ({layer.type}) needs a 3-D feature map (height × width × channels) "
            f"but gets a flat vector of {shape[0]} values; move it before the Flatten or global pooling."
        )
        return info
    if layer.type == "Conv2D":
        k, s, pad, d, f = (
            p["kernel_size"],
            p["strides"],
            p["padding"],
            p["dilation_rate"],
            p["filters"],
        )
        h_out = output_size(shape[0], k, s, pad, d)
        w_out = output_size(shape[1], k, s, pad, d)
        info.formula = (
            f"H: {formula_text(shape[0], k, s, pad, d)};  W: {formula_text(shape[1], k, s, pad, d)}"
        )
        if h_out <= 0 or w_out <= 0:
            info.error, _ = _spatial_message(layer, index, shape, k, s, pad, d)
            return info
        cin = shape[2]
        info.output_shape = (h_out, w_out, f)
        info.trainable_params = k * k * cin * f + f
        info.macs = h_out * w_out * f * k * k * cin
        return info
    if layer.type in ("MaxPooling2D", "AveragePooling2D"):
        k, s, pad = p["pool_size"], p["strides"], p["padding"]
        h_out = output_size(shape[0], k, s, pad)
        w_out = output_size(shape[1], k, s, pad)
        info.formula = (
            f"H: {formula_text(shape[0], k, s, pad)};  W: {formula_text(shape[1], k, s, pad)}"
        )
        if h_out <= 0 or w_out <= 0:
            info.error, _ = _spatial_message(layer, index, shape, k, s, pad, 1)
            return info
        info.output_shape = (h_out, w_out, shape[2])
        return info
    if layer.type == "GlobalAveragePooling2D":
        info.output_shape = (shape[2],)
        return info
    if layer.type == "Flatten":
        info.output_shape = (math.prod(shape),)
        return info
    if layer.type == "BatchNormalization":
        channels = shape[-1]
        info.output_shape = shape
        info.trainable_params = 2 * channels  # gamma, beta
        info.non_trainable_params = 2 * channels  # moving mean, moving variance
        return info
    if layer.type == "Dropout":
        info.output_shape = shape
        return info
    # Dense acts on the last axis, as in Keras (on a 3-D map it is a 1×1 convolution).
    units, fan_in = p["units"], shape[-1]
    info.output_shape = (*shape[:-1], units)
    info.trainable_params = fan_in * units + units
    info.macs = math.prod(shape[:-1]) * fan_in * units
    return info


def analyze(spec: ModelSpec, batch_size: int = 32) -> Analysis:
    """Infer every layer's output shape, parameters and multiply-adds.

    A layer that cannot fit gets an error; the layers after it cannot be
    inferred and say so, but the spec itself is left as it was.
    """
    problems = model_setting_errors(spec)
    infos: list[LayerInfo] = []
    shape: Shape | None = tuple(spec.input_shape) if not problems else None
    blocked_by: int | None = None
    all_layers = [*spec.layers, spec.output_layer()]
    for i, layer in enumerate(all_layers, start=1):
        is_output = i == len(all_layers)
        info = LayerInfo(i, layer.type, layer.summary(), None, is_output=is_output)
        setting_errors = layer_setting_errors(layer)
        if shape is None:
            if blocked_by is not None:
                info.formula = f"Waiting for layer {blocked_by} to be fixed."
        elif setting_errors:
            info.error = f"Layer {i} ({layer.type}): {setting_errors[0]}"
        elif is_output and len(shape) != 1:
            info.error = (
                f"The output layer gets a {shape_text(shape)} feature map, but it needs "
                "a flat vector; add a Flatten or GlobalAveragePooling2D layer before it."
            )
        else:
            info = _infer_layer(layer, i, shape)
            info.is_output = is_output
        if info.error and blocked_by is None:
            blocked_by = i
        infos.append(info)
        shape = info.output_shape
    return Analysis(infos, problems, batch_size)


def input_elements(spec: ModelSpec) -> int:
    return math.prod(spec.input_shape)


def layer_table(spec: ModelSpec, analysis: Analysis) -> list[dict[str, str | int]]:
    """The Build page's table: an input row, then one row per layer (output last)."""
    rows: list[dict[str, str | int]] = [
        {
            "#": "in",
            "Layer": "Input",
            "Settings": "",
            "Output shape": shape_text(spec.input_shape),
            "Parameters": 0,
            "Multiply-adds": 0,
            "Status": "",
        }
    ]
    for info in analysis.layers:
        rows.append(
            {
                "#": str(info.index),
                "Layer": info.type + (" (output)" if info.is_output else ""),
                "Settings": info.summary,
                "Output shape": shape_text(info.output_shape) if info.output_shape else "—",
                "Parameters": info.params,
                "Multiply-adds": info.macs,
                "Status": _layer_status(info),
            }
        )
    return rows


def _layer_status(info: LayerInfo) -> str:
    if info.error:
        return "does not fit"
    return "ok" if info.output_shape else "waiting"


def model_metrics(analysis: Analysis, training_memory_bytes: int) -> list[tuple[str, str]]:
    """The Build page's totals as (label, value), in the order it shows them.

    `training_memory_bytes` is what training at `analysis.batch_size` books (training
    admission knows the data's share; this package does not)."""
    return [
        ("Trainable parameters", f"{analysis.trainable_params:,}"),
        ("Non-trainable", f"{analysis.non_trainable_params:,}"),
        ("Model size", f"{analysis.model_megabytes:.2f} MB"),
        ("Multiply-adds / image", f"{analysis.macs / 1e6:,.2f} M"),
        (f"Training memory, batch {analysis.batch_size}", f"{training_memory_bytes / 1e9:.2f} GB"),
    ]
