"""The Keras side of a run: build its model, compile it with its optimizer and loss,
wrap it in augmentation, copy and slim a finished one. TensorFlow inside functions."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from dashboard.model.spec import ModelSpec
from dashboard.training.settings import TrainSettings, make_optimizer

if TYPE_CHECKING:
    import keras

# Python's and NumPy's global RNGs are seeded while a model is built; one build at
# a time keeps each run's initial weights a function of its own seed only.
BUILD_LOCK = threading.Lock()


def build(spec: ModelSpec, settings: TrainSettings) -> keras.Model:
    from dashboard.model.keras_model import build_model

    with BUILD_LOCK:
        return build_model(spec, settings.seed)


def drop_step_functions(*models: keras.Model) -> None:
    """Forget the traced train and validation steps of a finished model.

    They hold the step's whole graph (about 9 MB for a small CNN), and a finished
    model, kept by its session and by the cache, only predicts. Keras traces them
    again if the model is ever fitted or evaluated.
    """
    for model in models:
        for name in ("train_function", "test_function"):
            if getattr(model, name, None) is not None:
                setattr(model, name, None)


def copy_model(model: keras.Model) -> keras.Model:
    import keras

    with BUILD_LOCK:
        copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
    return copy


def compile_model(model: keras.Model, spec: ModelSpec, optimizer: Any = "adam") -> None:
    """Compile with the loss the class count implies and an accuracy that fits it."""
    import keras

    accuracy = (
        keras.metrics.BinaryAccuracy(name="accuracy")
        if spec.num_classes == 2
        else keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    )
    model.compile(optimizer=optimizer, loss=spec.loss_name(), metrics=[accuracy])


def compile_for_training(
    model: keras.Model, spec: ModelSpec, settings: TrainSettings, steps: int, binary: bool
) -> keras.Model:
    """Compile `model`; with augmentation, return a wrapper that augments, then calls it.

    The augmentation layers stay out of `model` itself, so the saved model, its layer
    names and its predictions are the same with or without augmentation.
    """
    import keras

    optimizer = make_optimizer(settings, steps * settings.epochs)
    compile_model(model, spec, optimizer)
    if not settings.augmentation:
        return model
    seed = settings.seed
    with BUILD_LOCK:
        layers: list[Any] = [keras.Input(shape=spec.input_shape)]
        if settings.flip:
            layers.append(keras.layers.RandomFlip("horizontal", seed=seed + 1))
        if settings.rotation_degrees:
            layers.append(
                keras.layers.RandomRotation(
                    settings.rotation_degrees / 360, fill_mode="nearest", seed=seed + 2
                )
            )
        if settings.zoom:
            layers.append(
                keras.layers.RandomZoom(settings.zoom, fill_mode="nearest", seed=seed + 3)
            )
        if settings.translation:
            t = settings.translation
            layers.append(keras.layers.RandomTranslation(t, t, fill_mode="nearest", seed=seed + 4))
        wrapper = keras.Sequential([*layers, model], name="augmented")
    compile_model(wrapper, spec, optimizer)
    return wrapper
