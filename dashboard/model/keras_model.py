"""ModelSpec -> keras.Model, and the same model as a standalone Keras script.

TensorFlow is imported lazily, inside the functions, so pages that only
analyze specs never pay its ~5 s and ~600 MB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dashboard.model.spec import LayerSpec, ModelSpec, SpecError

if TYPE_CHECKING:
    import keras


def layer_name(index: int, layer: LayerSpec, is_output: bool = False) -> str:
    """Stable Keras layer name, so feature maps and Grad-CAM can find spec layers."""
    return "output" if is_output else f"L{index:02d}_{layer.type.lower()}"


def _keras_kwargs(layer: LayerSpec) -> dict[str, Any]:
    """The layer's settings in Keras' own argument names."""
    p = dict(layer.params)
    if layer.type == "Conv2D":
        return {
            "filters": p["filters"],
            "kernel_size": p["kernel_size"],
            "strides": p["strides"],
            "padding": p["padding"],
            "dilation_rate": p["dilation_rate"],
            "activation": p["activation"],
        }
    return p


def build_model(spec: ModelSpec, seed: int | None = None) -> keras.Model:
    """Build an uncompiled keras.Model for a valid spec.

    Raises SpecError (never a Keras traceback) when the spec cannot be built.
    """
    analysis = spec.analyze()
    if not analysis.ok:
        first = (analysis.problems or [info.error for info in analysis.errors])[0]
        raise SpecError(first)
    import keras

    if seed is not None:
        keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=spec.input_shape, name="image")
    x = inputs
    all_layers = [*spec.layers, spec.output_layer()]
    for i, layer in enumerate(all_layers, start=1):
        is_output = i == len(all_layers)
        cls = getattr(keras.layers, layer.type)
        x = cls(name=layer_name(i, layer, is_output), **_keras_kwargs(layer))(x)
    return keras.Model(inputs, x, name=_model_name(spec))


def _model_name(spec: ModelSpec) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in spec.name)
    return cleaned or "cnn"


def keras_code(spec: ModelSpec) -> str:
    """A standalone Python script that builds the same model with plain Keras."""
    lines = [
        '"""' + f"{spec.name}: exported from CNN Lab." + "\n\n"
        "This script builds the model and prints its summary; it does not train it.\n"
        "Train it with model.fit on images scaled to 0..1 (pixels / 255).\n" + '"""',
        "",
        "import keras",
        "from keras import layers",
        "",
        "",
        "def build_model():",
        f"    inputs = keras.Input(shape={tuple(spec.input_shape)!r})",
        "    x = inputs",
    ]
    all_layers = [*spec.layers, spec.output_layer()]
    for i, layer in enumerate(all_layers, start=1):
        kwargs = _keras_kwargs(layer)
        args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        comment = "  # output layer: follows from the class count" if i == len(all_layers) else ""
        lines.append(f"    x = layers.{layer.type}({args})(x){comment}")
    loss = spec.loss_name()
    lines += [
        f"    return keras.Model(inputs, x, name={_model_name(spec)!r})",
        "",
        "",
        'if __name__ == "__main__":',
        "    model = build_model()",
        f'    model.compile(optimizer="adam", loss={loss!r}, metrics=["accuracy"])',
        "    model.summary()",
        "",
    ]
    return "\n".join(lines)
