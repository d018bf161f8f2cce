"""Presets load, and each is a valid spec."""

import pytest

from dashboard.model.presets import load_preset, preset_names, preset_train_settings
from dashboard.training import TrainSettings


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


@pytest.mark.parametrize("name", [n for n in preset_names() if preset_train_settings(n)])
def test_a_presets_recipe_is_settings_the_train_page_accepts(name):
    recipe = preset_train_settings(name)
    assert set(recipe) <= set(TrainSettings().to_dict()), "unknown setting in the recipe"
    assert TrainSettings.from_dict(recipe).problems() == []


def test_the_fast_and_photo_presets_come_with_their_recipes():
    for name in ("fast_mnist", "photos32"):
        assert preset_train_settings(name), name
        assert "Recipe:" in load_preset(name).description, name
