"""spec.py against Keras' own answers, and its errors, edits and JSON round trip."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from dashboard.model.analysis import layer_table, model_metrics
from dashboard.model.keras_model import build_model, keras_code
from dashboard.model.presets import load_preset, preset_names
from dashboard.model.shape_math import formula_text, output_size
from dashboard.model.share_links import spec_from_link_param, spec_to_link_param
from dashboard.model.spec import LAYER_TYPES, SCHEMA_VERSION, LayerSpec, ModelSpec, SpecError

keras = pytest.importorskip("keras")


def keras_facts(spec: ModelSpec) -> tuple[list[tuple], int, int]:
    """Per-layer output shapes, trainable and non-trainable parameter counts from Keras."""
    model = build_model(spec)
    shapes = [tuple(layer.output.shape[1:]) for layer in model.layers[1:]]
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    non_trainable = sum(int(w.numpy().size) for w in model.non_trainable_weights)
    return shapes, trainable, non_trainable


def assert_matches_keras(spec: ModelSpec) -> None:
    analysis = spec.analyze()
    assert analysis.ok, [info.error for info in analysis.errors]
    shapes, trainable, non_trainable = keras_facts(spec)
    assert [info.output_shape for info in analysis.layers] == shapes
    assert analysis.trainable_params == trainable
    assert analysis.non_trainable_params == non_trainable


@pytest.mark.parametrize("name", preset_names())
def test_presets_match_keras(name):
    assert_matches_keras(load_preset(name))


def random_layer(rng: random.Random, flat: bool) -> LayerSpec:
    kinds = ["Dense", "Dropout", "BatchNormalization", "Flatten"]
    if not flat:
        kinds += ["Conv2D"] * 4 + ["MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D"]
    kind = rng.choice(kinds)
    if kind == "Conv2D":
        stride, dilation = rng.choice([(1, 1), (2, 1), (3, 1), (1, 2), (1, 3)])
        return LayerSpec(
            kind,
            {
                "filters": rng.randint(1, 12),
                "kernel_size": rng.randint(1, 5),
                "strides": stride,
                "dilation_rate": dilation,
                "padding": rng.choice(["valid", "same"]),
                "activation": rng.choice(["relu", "tanh", "linear"]),
            },
        )
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        return LayerSpec(
            kind,
            {
                "pool_size": rng.randint(1, 4),
                "strides": rng.randint(1, 3),
                "padding": rng.choice(["valid", "same"]),
            },
        )
    if kind == "Dense":
        return LayerSpec(kind, {"units": rng.randint(1, 20), "activation": "relu"})
    if kind == "Dropout":
        return LayerSpec(kind, {"rate": rng.choice([0.0, 0.1, 0.5])})
    return LayerSpec(kind)


def random_spec(rng: random.Random) -> ModelSpec:
    shape = (rng.randint(3, 40), rng.randint(3, 40), rng.choice([1, 3]))
    layers, flat = [], False
    for _ in range(rng.randint(1, 7)):
        layer = random_layer(rng, flat)
        flat = flat or layer.type in ("Flatten", "GlobalAveragePooling2D")
        layers.append(layer)
    return ModelSpec(shape, layers, rng.choice([2, 3, 10]), name="random")


def valid_random_specs(count: int, seed: int = 20261123) -> list[ModelSpec]:
    """`count` random specs that spec.py accepts, from a fixed seed."""
    rng, specs = random.Random(seed), []
    while len(specs) < count:
        spec = random_spec(rng)
        if spec.analyze().ok:
            specs.append(spec)
    return specs


def test_random_valid_specs_match_keras():
    specs = valid_random_specs(220)
    for spec in specs:
        try:
            assert_matches_keras(spec)
        except AssertionError:
            print(spec.to_json())
            raise
    # The sample must really cover every layer type and both paddings.
    used = {layer.type for spec in specs for layer in spec.layers}
    assert used == set(LAYER_TYPES)


def test_specs_rejected_by_spec_py_are_rejected_by_keras_too():
    """spec.py's 'does not fit' must be a real impossibility, not over-caution."""
    rng, checked = random.Random(7), 0
    while checked < 60:
        spec = random_spec(rng)
        analysis = spec.analyze()
        if analysis.ok:
            continue
        checked += 1
        with pytest.raises(SpecError):
            build_model(spec)
        # Keras itself fails on the same layers (built directly, around our checks).
        with pytest.raises((ValueError, TypeError)):
            x = keras.Input(spec.input_shape)
            for layer in [*spec.layers, spec.output_layer()]:
                x = getattr(keras.layers, layer.type)(**layer.params)(x)
                if any(d is not None and d <= 0 for d in x.shape[1:]):
                    raise ValueError("non-positive dimension")
            if len(x.shape) != 2:
                raise ValueError("output is not flat")


@pytest.mark.parametrize(
    ("layers", "shape", "expected"),
    [
        (
            [LayerSpec("Conv2D", {"kernel_size": 5})],
            (3, 3, 1),
            "⌊(3 + 0 − 1·(5−1) − 1)/1⌋ + 1 = -1",
        ),
        (
            [LayerSpec("Conv2D", {"kernel_size": 3, "dilation_rate": 3})],
            (6, 6, 1),
            "spanning 7 pixels",
        ),
        (
            [LayerSpec("MaxPooling2D", {"pool_size": 4, "strides": 4})] * 3,
            (28, 28, 1),
            "⌊(1 + 0 − 1·(4−1) − 1)/4⌋ + 1 = 0",
        ),
        ([LayerSpec("Flatten"), LayerSpec("Conv2D")], (28, 28, 1), "move it before the Flatten"),
        (
            [LayerSpec("Flatten"), LayerSpec("MaxPooling2D")],
            (28, 28, 1),
            "needs a 3-D feature map",
        ),
        ([LayerSpec("Conv2D")], (28, 28, 1), "add a Flatten or GlobalAveragePooling2D"),
    ],
)
def test_impossible_layers_get_their_own_message(layers, shape, expected):
    spec = ModelSpec(shape, list(layers))
    analysis = spec.analyze()
    assert not analysis.ok
    first = analysis.errors[0]
    assert expected in first.error
    with pytest.raises(SpecError, match=r"Layer|output layer"):
        build_model(spec)
    # The spec itself is untouched: the user's layers are all still there.
    assert spec.layers == list(layers)


def test_layers_after_an_error_wait_for_it():
    spec = ModelSpec((4, 4, 1), [LayerSpec("Conv2D", {"kernel_size": 7}), LayerSpec("Flatten")])
    infos = spec.analyze().layers
    assert infos[0].error and infos[1].output_shape is None
    assert "Waiting for layer 1" in infos[1].formula


@pytest.mark.parametrize(
    "params",
    [
        {"filters": 0},
        {"kernel_size": -1},
        {"padding": "full"},
        {"activation": "magic"},
        {"strides": 2, "dilation_rate": 2},
        {"filters": 2.5},
    ],
)
def test_bad_settings_are_spec_errors_not_keras_tracebacks(params):
    spec = ModelSpec((28, 28, 1), [LayerSpec("Conv2D", params), LayerSpec("Flatten")])
    assert not spec.analyze().ok
    with pytest.raises(SpecError):
        build_model(spec)


def test_unknown_layer_and_setting_are_spec_errors():
    with pytest.raises(SpecError, match="Unknown layer type 'LSTM'"):
        LayerSpec("LSTM")
    with pytest.raises(SpecError, match="has no setting units"):
        LayerSpec("Conv2D", {"units": 3})


def test_output_size_matches_keras_for_many_settings():
    for size in (1, 5, 28, 31):
        for k in (1, 2, 3, 5):
            for stride in (1, 2, 3):
                for pad in ("valid", "same"):
                    for dilation in (1, 2):
                        if stride > 1 and dilation > 1:
                            continue
                        out = output_size(size, k, stride, pad, dilation)
                        if out <= 0:
                            continue
                        layer = keras.layers.Conv2D(
                            1, k, strides=stride, padding=pad, dilation_rate=dilation
                        )
                        got = layer.compute_output_shape((1, size, size, 1))
                        assert got[1] == out, (size, k, stride, pad, dilation)


def test_formula_text_fills_in_numbers():
    assert formula_text(28, 3, 1, "same") == "⌊(28 + 2 − 1·(3−1) − 1)/1⌋ + 1 = 28"
    assert formula_text(28, 3, 2, 1) == "⌊(28 + 2 − 1·(3−1) − 1)/2⌋ + 1 = 14"


def test_totals_and_costs_of_mnist_cnn():
    analysis = load_preset("mnist_cnn").analyze(batch_size=128)
    assert analysis.total_params == 1_199_882  # Keras' model.summary() for article 002
    conv2 = analysis.layers[1]
    assert conv2.macs == 24 * 24 * 64 * 3 * 3 * 32
    assert analysis.model_megabytes == pytest.approx(4.8, abs=0.01)
    small = analysis.training_memory_bytes(784)
    assert load_preset("mnist_cnn").analyze(batch_size=256).training_memory_bytes(784) > small


def test_layer_table_rows_are_what_the_build_page_shows():
    spec = load_preset("default")
    rows = layer_table(spec, spec.analyze())
    assert rows[0] == {
        "#": "in",
        "Layer": "Input",
        "Settings": "",
        "Output shape": "28×28×1",
        "Parameters": 0,
        "Multiply-adds": 0,
        "Status": "",
    }
    assert rows[1]["Settings"] == "16 × 3×3, stride 1, same, relu"
    assert (rows[1]["Output shape"], rows[1]["Parameters"]) == ("28×28×16", 160)
    assert [r["Layer"] for r in rows][-2:] == ["Flatten", "Dense (output)"]
    assert [r["#"] for r in rows] == ["in", "1", "2", "3", "4", "5", "6"]
    assert {r["Status"] for r in rows[1:]} == {"ok"}


def test_layer_table_marks_the_layer_that_does_not_fit_and_those_waiting():
    spec = ModelSpec((4, 4, 1), [LayerSpec("Conv2D", {"kernel_size": 7}), LayerSpec("Flatten")])
    rows = layer_table(spec, spec.analyze())
    assert [r["Status"] for r in rows] == ["", "does not fit", "waiting", "waiting"]
    assert [r["Output shape"] for r in rows] == ["4×4×1", "—", "—", "—"]


def test_model_metrics_are_the_build_page_totals():
    analysis = load_preset("mnist_cnn").analyze(batch_size=128)
    assert model_metrics(analysis, 1_234_000_000) == [
        ("Trainable parameters", "1,199,882"),
        ("Non-trainable", "0"),
        ("Model size", "4.80 MB"),
        ("Multiply-adds / image", "11.99 M"),
        ("Training memory, batch 128", "1.23 GB"),
    ]


def test_big_model_does_not_fit_cloud_small_one_does():
    cats = load_preset("cats_vs_dogs")
    assert not cats.analyze(batch_size=256).fits_cloud(150 * 150 * 3)
    assert load_preset("default").analyze(batch_size=64).fits_cloud(784)


def test_json_round_trip_gives_equal_spec():
    for name in preset_names():
        spec = load_preset(name)
        assert ModelSpec.from_json(spec.to_json()) == spec
    for spec in valid_random_specs(30, seed=3):
        assert ModelSpec.from_json(spec.to_json()) == spec


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"layers": []}', "has no 'input_shape'"),
        ('{"input_shape": [28, 28], "layers": []}', "three whole numbers"),
        (
            f'{{"schema_version": {SCHEMA_VERSION + 1}, "input_shape": [28,28,1], "layers": []}}',
            "newer",
        ),
        (
            '{"input_shape": [28,28,1], "layers": [{"type": "Capsule"}]}',
            "Layer 1: Unknown layer type",
        ),
        ('{"input_shape": [28,28,1], "layers": [{"type": "Dense", "units": 0}]}', "Units must be"),
        (
            '{"input_shape": [28,28,1], "layers": [{"filters": 3}]}',
            "must be an object with a 'type'",
        ),
    ],
)
def test_malformed_json_gives_clear_error(text, message):
    with pytest.raises(SpecError, match=message):
        ModelSpec.from_json(text)


def test_share_link_round_trip_and_damage():
    spec = load_preset("lenet5")
    param = spec_to_link_param(spec)
    back = spec_from_link_param(param)
    assert back.layers == spec.layers and back.input_shape == spec.input_shape
    with pytest.raises(SpecError, match="could not be read"):
        spec_from_link_param(param[: len(param) // 2])
    with pytest.raises(SpecError, match="could not be read"):
        spec_from_link_param("%%%not-base64")


def test_layer_edits():
    spec = ModelSpec((28, 28, 1), [LayerSpec("Conv2D"), LayerSpec("Flatten")])
    spec.insert_layer(1, LayerSpec("MaxPooling2D"))
    assert [layer.type for layer in spec.layers] == ["Conv2D", "MaxPooling2D", "Flatten"]
    spec.move_layer(0, +1)
    assert [layer.type for layer in spec.layers] == ["MaxPooling2D", "Conv2D", "Flatten"]
    spec.move_layer(0, -1)  # already first: nothing happens
    spec.duplicate_layer(1)
    spec.layers[2].params["filters"] = 8
    assert spec.layers[1].params["filters"] == 32  # a duplicate is a copy, not an alias
    spec.remove_layer(0)
    assert [layer.type for layer in spec.layers] == ["Conv2D", "Conv2D", "Flatten"]


def test_exported_keras_script_builds_the_same_model(tmp_path):
    for name in ("default", "lenet5", "cats_vs_dogs"):
        spec = load_preset(name)
        script = tmp_path / f"{name}.py"
        script.write_text(
            keras_code(spec)
            + "\nm = build_model()\nprint('RESULT', m.count_params(), tuple(m.output.shape[1:]))\n"
        )
        out = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, check=True
        ).stdout
        result = next(line for line in out.splitlines() if line.startswith("RESULT"))
        analysis = spec.analyze()
        assert result == f"RESULT {analysis.total_params} {analysis.output_shape}"
    # Its header says what it does not do yet, so nobody waits for it to train.
    assert "it does not train it" in keras_code(load_preset("default")).split('"""')[1]
