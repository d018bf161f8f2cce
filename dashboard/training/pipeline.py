"""A run's tf.data input pipeline: the split, each epoch's order from the run's seed,
uint8 images scaled per batch, and batches every replica can split. TensorFlow is
imported inside functions only."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dashboard.compat.tf_host_tensor import host_tensor
from dashboard.data.datasets import Dataset
from dashboard.data.preprocess import PIXEL_MAX
from dashboard.training.settings import TrainSettings


@dataclass
class Data:
    train: Any
    validation: Any
    n_train: int
    steps_per_epoch: int
    batch_size: int  # images in every training batch but the last
    last_batch_size: int  # images in the last one, padding included
    notes: list[str] = field(default_factory=list)


def replica_padding(count: int, batch: int, replicas: int) -> int:
    """How many images to add to the last of `count` images in batches of `batch`
    so that each of `replicas` devices gets at least one.

    MirroredStrategy splits every global batch over its replicas; a last batch with
    fewer images than replicas leaves a device an empty slice, which oneDNN's
    convolution rejects on some CPUs ("input depth must be evenly divisible by filter
    depth: 1 vs 16"). Uneven but non-empty slices are fine.
    """
    last = count % batch or batch
    return max(0, replicas - last) if replicas > 1 and count else 0


def _balanced_batch(count: int, largest: int) -> int:
    """The batch size that splits `count` images into as few batches of at most
    `largest` as possible, all within one image of each other."""
    batches = max(1, math.ceil(count / largest))
    return math.ceil(count / batches)


def prepare_data(
    dataset: Dataset, settings: TrainSettings, binary: bool, replicas: int = 1
) -> Data:
    """tf.data pipelines that keep the images as uint8 (a quarter of float32's memory)
    and scale them per batch. The split and the order of every epoch come from NumPy
    with the run's seed, so the same seed gives the same batches whatever else the
    process does.

    With several replicas every batch has at least one image per replica: the batch
    size is raised to the replica count if below it, the last training batch of each
    epoch is topped up with that epoch's first images, and validation batches are
    balanced (padded only when there are fewer validation images than replicas).

    Long because the tf.data pipeline's stages read best in order, in one place.
    """
    import tensorflow as tf

    rng = np.random.default_rng(settings.seed)
    n = len(dataset.x_train)
    order = rng.permutation(n)
    n_val = round(n * settings.validation_split)
    n_val = min(n_val, n - 1)
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    y = dataset.y_train.astype(np.float32 if binary else np.int32)
    if binary:
        y = y.reshape(-1, 1)
    # Batches of both splits gather from all the images by index: no copy of either.
    x_all, y_all = host_tensor(dataset.x_train), tf.constant(y)
    n_train = len(train_idx)
    notes = []
    batch = min(settings.batch_size, n_train)
    if batch < replicas:
        batch = min(replicas, n_train)
        notes.append(
            f"Training on {replicas} devices needs at least one image per device in each "
            f"batch, so batches hold {batch} images instead of {settings.batch_size}."
        )
    steps = math.ceil(n_train / batch)
    pad = replica_padding(n_train, batch, replicas)
    if pad:
        notes.append(
            f"So that each of the {replicas} devices gets an image, the last batch of each "
            f"epoch repeats {pad} of that epoch's first image{'s' if pad != 1 else ''}."
        )
    # Each epoch's order is made when the epoch starts, from the NumPy state it starts
    # with: all of them at once would take epochs x images indices (43 MB for 200 MNIST
    # epochs), and a generator in the pipeline made training ~40% slower. Each order is
    # drawn here too, only to move the generator to the next epoch's state (a shuffle
    # uses no fixed count of draws, so it cannot be skipped): ~1 ms per MNIST epoch.
    epoch_states = []
    for _ in range(settings.epochs):
        epoch_states.append(rng.bit_generator.state)
        rng.permutation(n_train)

    def numpy_epoch_order(epoch: np.int64) -> np.ndarray:
        epoch_rng = np.random.default_rng()
        epoch_rng.bit_generator.state = epoch_states[int(epoch)]
        order = train_idx[epoch_rng.permutation(n_train)].astype(np.int32)
        return np.concatenate([order, order[:pad]]) if pad else order

    def epoch_order(epoch):
        order = tf.numpy_function(numpy_epoch_order, [epoch], tf.int32, stateful=False)
        return tf.ensure_shape(order, [n_train + pad])

    def gather(idx):
        # The same floats as preprocess.to_model_input gives every prediction.
        return tf.cast(tf.gather(x_all, idx), tf.float32) / PIXEL_MAX, tf.gather(y_all, idx)

    train = (
        tf.data.Dataset.range(settings.epochs)
        .map(epoch_order)
        .flat_map(lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch))
        .map(gather, num_parallel_calls=2, deterministic=True)
        .prefetch(2)
        .with_options(no_autotune())
    )
    validation = None
    if n_val:
        val_batch = max(batch, 256)
        if replicas > 1:
            val_batch = _balanced_batch(n_val, val_batch)
            # Fewer validation images than devices: repeat some (a tiny split anyway).
            val_idx = np.resize(val_idx, max(n_val, replicas))
        validation = (
            tf.data.Dataset.from_tensor_slices(val_idx.astype(np.int32))
            .batch(val_batch)
            .map(gather)
            .prefetch(2)
            .with_options(no_autotune())
        )
    last = (n_train % batch or batch) + pad
    return Data(train, validation, n_train, steps, batch, last, notes)


def no_autotune() -> Any:
    """tf.data options without the autotuning thread.

    That thread sleeps between tuning rounds, doubling the sleep each round, and
    deleting an iterator waits for the sleep to end: after a 4-epoch run, fit
    returned up to 40 s after its last batch. Gathering a batch of uint8 images
    is cheap, so a fixed 2 batches in flight keep the model fed.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return options
