"""LayerSpec / ModelSpec: a CNN as plain data, its settings' checks and the JSON round trip.

What follows from a spec (shapes, parameters, cost) is `analysis.py`, the shape
formulas are `shape_math.py`, and share links are `share_links.py`. All of it is
pure Python: the Build page calls it on every keystroke.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dashboard.data import limits

if TYPE_CHECKING:
    from dashboard.model.analysis import Analysis

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
        """Shapes, parameters and cost of every layer (see analysis.analyze)."""
        from dashboard.model.analysis import analyze

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

    Long because it checks each field in turn, each with its own sentence.
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
