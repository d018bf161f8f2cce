"""Presets load, and each is a valid spec."""

import pytest

from dashboard.model.presets import load_preset, preset_names


def test_all_required_presets_exist():
    assert {"default", "lenet5", "mnist_cnn", "cats_vs_dogs", "tiny_vgg", "dense_only"} <= set(
        preset_names()
    )


@pytest.mark.parametrize("name", preset_names())
def test_preset_is_valid(name):
    analysis = load_preset(name).analyze()
    assert analysis.ok, [info.error for info in analysis.errors]


def test_default_is_small():
    assert load_preset("default").analyze().total_params <= 30_000


def test_cats_vs_dogs_has_sigmoid_output():
    spec = load_preset("cats_vs_dogs")
    assert spec.input_shape == (150, 150, 3)
    out = spec.output_layer()
    assert out.params == {"units": 1, "activation": "sigmoid"}
