"""LayerSpec / ModelSpec: a CNN as plain data.

Everything that can be known about a model without TensorFlow lives here:
validation, output shapes, parameter counts, multiply-adds, activation memory
and the JSON round trip. The build page calls this on every keystroke, so it
must stay pure Python and fast. Tests hold it to Keras' own answers.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import zlib
from dataclasses import dataclass, field
from typing import Any

from dashboard.data import limits

SCHEMA_VERSION = 1

ACTIVATIONS = ("relu", "linear", "sigmoid", "tanh", "elu", "selu", "gelu", "swish", "softmax")
PADDINGS = ("valid", "same")

# Settings of each layer type with their defaults, in the order the UI shows them.
LAYER_DEFAULTS: dict[str, dict[str, Any]] = {
    "Conv2D": {
        "filters": 32,
        "kernel_size": 3,
        "strides": 1,
        "padding": "valid",
        "dilation_rate": 1,
        "activation": "relu",
    },
    "MaxPooling2D": {"pool_size": 2, "strides": 2, "padding": "valid"},
    "AveragePooling2D": {"pool_size": 2, "strides": 2, "padding": "valid"},
    "BatchNormalization": {},
    "Dropout": {"rate": 0.25},
    "Flatten": {},
    "GlobalAveragePooling2D": {},
    "Dense": {"units": 128, "activation": "relu"},
}
LAYER_TYPES = tuple(LAYER_DEFAULTS)

# How the builder offers each setting: (label, choices) or (label, min, max, step).
PARAM_INFO: dict[str, tuple] = {
    "filters": ("Filters", 1, 1024, 1),
    "kernel_size": ("Kernel size", 1, 15, 1),
    "pool_size": ("Pool size", 1, 15, 1),
    "strides": ("Stride", 1, 8, 1),
    "dilation_rate": ("Dilation", 1, 8, 1),
    "padding": ("Padding", PADDINGS),
    "activation": ("Activation", ACTIVATIONS),
    "rate": ("Dropout rate", 0.0, 0.95, 0.05),
    "units": ("Units", 1, 8192, 1),
}
SPATIAL_TYPES = ("Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D")

# Community Cloud gives an app about 2.7 GB; TensorFlow and Streamlit take ~0.7 GB of it.
CLOUD_MEMORY_BYTES = int(2.7e9)
RUNTIME_OVERHEAD_BYTES = int(0.7e9)
BYTES_PER_FLOAT = 4
# Trainable weights cost weights + gradients + two Adam slots.
TRAINING_COPIES_PER_WEIGHT = 4


def shape_text(shape: tuple[int | None, ...] | list[int]) -> str:
    """A shape as CNN Lab writes it everywhere.

    >>> shape_text((28, 28, 1))
    '28×28×1'
    """
    return "×".join(str(v) for v in shape)


class SpecError(ValueError):
    """A spec a user wrote that cannot be used; the message says what to do."""


Shape = tuple[int, ...]


@dataclass
class LayerSpec:
    """One layer: its Keras type and settings (missing settings take defaults)."""

    type: str
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in LAYER_DEFAULTS:
            known = ", ".join(LAYER_TYPES)
            raise SpecError(f"Unknown layer type '{self.type}'. Use one of: {known}.")
        unknown = set(self.params) - set(LAYER_DEFAULTS[self.type])
        if unknown:
            raise SpecError(
                f"{self.type} has no setting {', '.join(sorted(unknown))}; "
                f"its settings are: {', '.join(LAYER_DEFAULTS[self.type]) or 'none'}."
            )
        self.params = {**LAYER_DEFAULTS[self.type], **self.params}

    def summary(self) -> str:
        """Short human text of the settings, e.g. '32 × 3×3, stride 1, valid, relu'."""
        p = self.params
        if self.type == "Conv2D":
            k = p["kernel_size"]
            text = f"{p['filters']} × {k}×{k}, stride {p['strides']}, {p['padding']}"
            if p["dilation_rate"] != 1:
                text += f", dilation {p['dilation_rate']}"
            return f"{text}, {p['activation']}"
        if self.type in ("MaxPooling2D", "AveragePooling2D"):
            k = p["pool_size"]
            return f"{k}×{k}, stride {p['strides']}, {p['padding']}"
        if self.type == "Dropout":
            return f"rate {p['rate']}"
        if self.type == "Dense":
            return f"{p['units']} units, {p['activation']}"
        return ""

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **self.params}


@dataclass
class ModelSpec:
    """A whole model: input shape, hidden layers, and the class count.

    The output layer is not stored: it follows from `num_classes` (one sigmoid
    unit for two classes, softmax otherwise), as in article 003.
    """

    input_shape: tuple[int, int, int] = (28, 28, 1)
    layers: list[LayerSpec] = field(default_factory=list)
    num_classes: int = 10
    name: str = "custom"
    description: str = ""

    def __post_init__(self) -> None:
        self.input_shape = tuple(self.input_shape)  # type: ignore[assignment]

    # --- derived facts -------------------------------------------------
    def output_layer(self) -> LayerSpec:
        """The output layer the class count implies."""
        if self.num_classes == 2:
            return LayerSpec("Dense", {"units": 1, "activation": "sigmoid"})
        return LayerSpec("Dense", {"units": self.num_classes, "activation": "softmax"})

    def loss_name(self) -> str:
        return "binary_crossentropy" if self.num_classes == 2 else "sparse_categorical_crossentropy"

    def analyze(self, batch_size: int = 32) -> Analysis:
        return analyze(self, batch_size)

    # --- editing (the builder's insert / move / duplicate / delete) ---------
    def insert_layer(self, index: int, layer: LayerSpec) -> None:
        """Insert before position `index` (0-based); an index past the end appends."""
        self.layers.insert(max(0, min(index, len(self.layers))), layer)

    def move_layer(self, index: int, delta: int) -> None:
        """Move a layer up (delta -1) or down (+1); moves past either end do nothing."""
        target = index + delta
        if 0 <= index < len(self.layers) and 0 <= target < len(self.layers):
            self.layers[index], self.layers[target] = self.layers[target], self.layers[index]

    def duplicate_layer(self, index: int) -> None:
        layer = self.layers[index]
        self.layers.insert(index + 1, LayerSpec(layer.type, dict(layer.params)))

    def remove_layer(self, index: int) -> None:
        del self.layers[index]

    def copy(self) -> ModelSpec:
        return spec_from_dict(self.to_dict(), validate=False)

    # --- serialization -------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "name": self.name,
            "description": self.description,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "layers": [layer.to_dict() for layer in self.layers],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: Any) -> ModelSpec:
        return spec_from_dict(data)

    @classmethod
    def from_json(cls, text: str | bytes) -> ModelSpec:
        if len(text) > limits.MAX_SPEC_BYTES:
            raise SpecError(
                f"This spec is {limits.human_bytes(len(text))}; a spec may be at most "
                f"{limits.human_bytes(limits.MAX_SPEC_BYTES)} (a real one is a few KB), so "
                "upload a file saved by CNN Lab's 'Download spec'."
            )
        depth = json_depth(text)
        if depth > limits.MAX_JSON_DEPTH:
            raise SpecError(
                f"This spec nests {depth} levels deep; a spec has at most "
                f"{limits.MAX_JSON_DEPTH}, so upload a file saved by CNN Lab's 'Download spec'."
            )
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SpecError(
                f"This is not valid JSON ({exc.__class__.__name__}: {exc}); "
                "upload a file saved by CNN Lab's 'Download spec'."
            ) from None
        return spec_from_dict(data)


def json_depth(text: str | bytes) -> int:
    """How deeply objects and lists nest in JSON text, counted without parsing it (a
    deep enough nest makes json.loads raise RecursionError)."""
    raw = text.encode() if isinstance(text, str) else text
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def spec_from_dict(data: Any, validate: bool = True) -> ModelSpec:
    """Build a ModelSpec from parsed JSON, with one clear SpecError for any problem.

    With `validate`, settings out of range are refused too (how layers fit
    together is analyze()'s job: such a spec still loads and shows its errors).
    """
    if not isinstance(data, dict):
        raise SpecError("A model spec must be a JSON object with 'input_shape' and 'layers'.")
    version = data.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or version < 1:
        raise SpecError(f"Unknown schema_version {version!r}; expected {SCHEMA_VERSION}.")
    if version > SCHEMA_VERSION:
        raise SpecError(
            f"This spec uses schema version {version}, newer than this app's "
            f"{SCHEMA_VERSION}; update CNN Lab or export it again from this version."
        )
    for key in ("input_shape", "layers"):
        if key not in data:
            raise SpecError(f"The spec has no '{key}'; it needs 'input_shape' and 'layers'.")
    shape = data["input_shape"]
    if (
        not isinstance(shape, list | tuple)
        or len(shape) != 3
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in shape)
    ):
        raise SpecError(
            f"'input_shape' must be three whole numbers [height, width, channels], not {shape!r}."
        )
    layers_data = data["layers"]
    if not isinstance(layers_data, list):
        raise SpecError("'layers' must be a list of layer objects.")
    if len(layers_data) > limits.MAX_LAYERS:
        raise SpecError(
            f"This spec has {len(layers_data):,} layers; a model may have at most "
            f"{limits.MAX_LAYERS}, so remove layers or load a preset."
        )
    layers = []
    for i, item in enumerate(layers_data, start=1):
        if not isinstance(item, dict) or "type" not in item:
            raise SpecError(f"Layer {i} must be an object with a 'type'.")
        params = {k: v for k, v in item.items() if k != "type"}
        try:
            layers.append(LayerSpec(item["type"], params))
        except SpecError as exc:
            raise SpecError(f"Layer {i}: {exc}") from None
    num_classes = data.get("num_classes", 10)
    if not isinstance(num_classes, int) or isinstance(num_classes, bool):
        raise SpecError(f"'num_classes' must be a whole number, not {num_classes!r}.")
    name = str(data.get("name", "custom"))
    description = str(data.get("description", ""))
    spec = ModelSpec(tuple(shape), layers, num_classes, name, description)
    problems = validate_settings(spec) if validate else []
    if problems:
        raise SpecError(problems[0])
    return spec


# --- share links ----------------------------------------------------------------
# A link holds the spec as compact JSON, zlib-compressed, in URL-safe base64.


def spec_to_link_param(spec: ModelSpec) -> str:
    data = spec.to_dict()
    data.pop("description", None)  # keeps links short; presets carry their own
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def spec_from_link_param(param: str) -> ModelSpec:
    """Decode a share link's spec; SpecError if it is damaged, too large or not a spec."""
    if len(param) > limits.MAX_LINK_CHARS:
        raise SpecError(
            f"This link's model is {len(param):,} characters long; a share link holds at most "
            f"{limits.MAX_LINK_CHARS:,}, so ask for the link again or load a preset."
        )
    try:
        packed = base64.urlsafe_b64decode(param + "=" * (-len(param) % 4))
        inflater = zlib.decompressobj()
        # A spec is a few KB; one byte more than the limit is enough to refuse it.
        raw = inflater.decompress(packed, limits.MAX_SPEC_BYTES + 1)
        if len(raw) > limits.MAX_SPEC_BYTES:
            raise SpecError(
                f"This link's model unpacks to more than {limits.human_bytes(limits.MAX_SPEC_BYTES)} "
                "of settings, far more than any model CNN Lab builds; ask for the link again "
                "or load a preset."
            )
        if not inflater.eof:
            raise ValueError("incomplete")
    except (binascii.Error, ValueError, zlib.error) as exc:
        if isinstance(exc, SpecError):
            raise
        raise SpecError(
            "This link's model could not be read (it may have been cut off when copied); "
            "ask for the link again or load a preset."
        ) from None
    return ModelSpec.from_json(raw)


# --- settings validation -----------------------------------------------------


def _is_int(value: Any, low: int, high: int | None = None) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value >= low
        and (high is None or value <= high)
    )


def layer_setting_errors(layer: LayerSpec) -> list[str]:
    """Settings that are wrong on their own, whatever the layer's input."""
    p, errors = layer.params, []
    for key in ("filters", "units", "kernel_size", "pool_size", "strides", "dilation_rate"):
        if key in p:
            label, low, high, _ = PARAM_INFO[key]
            if not _is_int(p[key], low, high):
                errors.append(
                    f"{label} must be a whole number from {low} to {high}, not {p[key]!r}."
                )
    if "padding" in p and p["padding"] not in PADDINGS:
        errors.append(f"padding must be 'valid' or 'same', not {p['padding']!r}.")
    if "activation" in p and p["activation"] not in ACTIVATIONS:
        errors.append(
            f"activation must be one of {', '.join(ACTIVATIONS)}, not {p['activation']!r}."
        )
    if "rate" in p and not (
        isinstance(p["rate"], int | float)
        and not isinstance(p["rate"], bool)
        and 0 <= p["rate"] < 1
    ):
        errors.append(f"Dropout rate must be at least 0 and below 1, not {p['rate']!r}.")
    if layer.type == "Conv2D" and _is_int(p["strides"], 2) and _is_int(p["dilation_rate"], 2):
        # Keras refuses this combination; say so before it does.
        errors.append(
            "Conv2D cannot use a stride above 1 together with a dilation above 1; set one of them to 1."
        )
    return errors


def model_setting_errors(spec: ModelSpec) -> list[str]:
    """Problems with the input shape or class count (not tied to one layer)."""
    problems = []
    h, w, c = spec.input_shape
    side, channels = limits.MAX_INPUT_SIDE, limits.MAX_INPUT_CHANNELS
    if not all(_is_int(v, 1, side) for v in (h, w)) or not _is_int(c, 1, channels):
        problems.append(
            f"Input shape {spec.input_shape} is not usable: height and width must be "
            f"1 to {side}, channels 1 to {channels}."
        )
    if not _is_int(spec.num_classes, 2, 10_000):
        problems.append(f"A classifier needs at least 2 classes, not {spec.num_classes!r}.")
    return problems


def validate_settings(spec: ModelSpec) -> list[str]:
    """Every problem with the spec's own numbers (not with how layers fit together)."""
    problems = model_setting_errors(spec)
    for i, layer in enumerate(spec.layers, start=1):
        problems.extend(f"Layer {i} ({layer.type}): {msg}" for msg in layer_setting_errors(layer))
    return problems


# --- shape arithmetic --------------------------------------------------------


def output_size(
    size: int, kernel: int, stride: int = 1, padding: str | int = "valid", dilation: int = 1
) -> int:
    """Output length along one axis, as Keras computes it: the formula the app teaches,
    ⌊(W + 2P − D·(K−1) − 1)/S⌋ + 1.

    Args:
        size: the input's length W along this axis.
        kernel: the kernel's (or pooling window's) length K.
        stride: the step S between windows.
        padding: 'valid' (none), 'same' (output ceil(W / S)), or P zero pixels a side.
        dilation: D, the gap between the kernel's taps (1: none).

    Returns:
        The output's length; 0 or less when the kernel does not fit.

    Example:
        >>> output_size(28, 3)  # a 3×3 kernel on 28 pixels, no padding
        26
        >>> output_size(28, 3, stride=2, padding="same")
        14
        >>> output_size(28, 3, padding=1, dilation=2)  # taps 2 apart span 5 pixels
        26
        >>> output_size(2, 5)  # too small: nothing fits
        -2
    """
    return (
        size + total_padding(size, kernel, stride, padding, dilation) - dilation * (kernel - 1) - 1
    ) // stride + 1


def total_padding(
    size: int, kernel: int, stride: int = 1, padding: str | int = "valid", dilation: int = 1
) -> int:
    """Zero pixels added along one axis in all (both sides together)."""
    if padding == "valid":
        return 0
    if padding == "same":
        # Keras/TensorFlow 'same': output is ceil(size / stride), padding fills the gap.
        out = -(-size // stride)
        return max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return 2 * int(padding)


def padding_split(
    size: int, kernel: int, stride: int = 1, padding: str | int = "valid", dilation: int = 1
) -> tuple[int, int]:
    """Zero pixels added (before, after) along one axis.

    Args:
        size, kernel, stride, padding, dilation: as for `output_size`.

    Returns:
        (before, after): for 'same' an odd total puts the extra pixel after
        (bottom/right), as TensorFlow does.

    Example:
        >>> padding_split(28, 3, padding="same")
        (1, 1)
        >>> padding_split(28, 2, stride=2, padding="same")  # even kernel: nothing to add
        (0, 0)
        >>> padding_split(5, 4, padding="same")  # 3 pixels: one before, two after
        (1, 2)
    """
    total = total_padding(size, kernel, stride, padding, dilation)
    return total // 2, total - total // 2


def formula_text(
    size: int, kernel: int, stride: int = 1, padding: str | int = "valid", dilation: int = 1
) -> str:
    """The output-size formula with the numbers filled in.

    ⌊(W + 2P − D·(K−1) − 1)/S⌋ + 1, where 2P is the total padding of both sides.
    """
    pad = total_padding(size, kernel, stride, padding, dilation)
    out = output_size(size, kernel, stride, padding, dilation)
    return f"⌊({size} + {pad} − {dilation}·({kernel}−1) − 1)/{stride}⌋ + 1 = {out}"


FORMULA = "⌊(W + 2P − D·(K−1) − 1)/S⌋ + 1"


# --- analysis -----------------------------------------------------------------


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
    """Shape, parameters and multiply-adds of one layer given its input shape."""
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
