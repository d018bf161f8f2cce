"""The training engine: real (small) Keras training in background threads."""

from __future__ import annotations

import dataclasses
import os
import threading

import numpy as np
import pytest
from conftest import wait_until
from session_driver import rss_mb, rss_supported

from dashboard import training
from dashboard.compat.tf_host_tensor import host_tensor
from dashboard.data.builtins import load_builtin
from dashboard.data.datasets import Dataset
from dashboard.model.presets import load_preset
from dashboard.model.spec import LayerSpec, ModelSpec, SpecError
from dashboard.training import (
    ResultCache,
    Run,
    TrainingQueue,
    TrainSettings,
    run_compare,
    start_run,
    trainer,
)
from dashboard.training import pipeline as input_pipeline

FAST = TrainSettings(epochs=2, batch_size=64)


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_builtin("digits")


def private_copy(dataset: Dataset) -> Dataset:
    """The same images as an upload: never shared with other runs or sessions."""
    return dataclasses.replace(dataset, shareable=False, meta={})


def finish(run, timeout: float = 300) -> None:
    assert run.wait(timeout), f"run {run.id} did not finish"


def test_run_trains_and_records_epochs_and_batches(digits):
    run = start_run(load_preset("default"), private_copy(digits), FAST, cache=ResultCache())
    finish(run)
    assert run.status == "done", run.error
    assert [row["epoch"] for row in run.history] == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "images_per_s"} <= set(run.history[0])
    assert run.history[1]["loss"] < run.history[0]["loss"]
    steps = len(run.batches)
    assert steps == 2 * run.steps_per_epoch
    # Each batch's own value, not the running mean: the last batch of an epoch differs
    # from the epoch's mean, and the mean of the own values matches Keras' epoch loss.
    first_epoch = [b for b in run.batches if b["epoch"] == 1]
    assert first_epoch[-1]["loss_mean"] == pytest.approx(run.history[0]["loss"], rel=1e-4)
    # The input shape and the output were fitted to the 8×8 digits, and the user is told.
    assert run.spec.input_shape == (8, 8, 1)
    assert any("8×8×1" in note for note in run.notes)
    predictions = run.model.predict(digits.x_test[:5].astype("float32") / 255, verbose=0)
    assert predictions.shape == (5, 10)


def test_stop_keeps_a_model_that_predicts(digits):
    settings = TrainSettings(epochs=200, batch_size=16, lr_schedule="constant")
    run = start_run(load_preset("default"), private_copy(digits), settings)
    wait_until(lambda: len(run.batches) >= 5)
    run.stop()
    finish(run)
    assert run.status == "stopped"
    assert run.error is None
    assert 5 <= len(run.batches) < 200 * run.steps_per_epoch
    x = digits.x_test[:20].astype("float32") / 255
    probs = run.model.predict(x, verbose=0)
    assert probs.shape == (20, 10)
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-4)


@pytest.mark.parametrize(
    ("learning_rate", "words"), [(1e30, "The loss became NaN"), (1e6, "The loss exploded")]
)
def test_nan_loss_fails_with_the_message_and_keeps_history(digits, learning_rate, words):
    settings = TrainSettings(
        optimizer="sgd", learning_rate=learning_rate, lr_schedule="constant", epochs=3
    )
    run = start_run(load_preset("default"), private_copy(digits), settings)
    finish(run)
    assert run.status == "failed"
    assert run.error.startswith(words)
    assert "the learning rate may be too high" in run.error
    assert run.model is None
    assert run.batches, "the history up to the failure is kept"


def test_an_exception_in_the_thread_fails_the_run_with_one_message(digits):
    # A label outside the class range makes TensorFlow raise inside model.fit.
    y_train = digits.y_train.copy()
    y_train[:] = 42
    broken = dataclasses.replace(digits, y_train=y_train, shareable=False, meta={})
    run = start_run(load_preset("default"), broken, FAST)
    finish(run)
    assert run.status == "failed"
    assert run.error.startswith("Training stopped with an error")
    assert "\n" not in run.error


def test_out_of_memory_message_says_what_to_do():
    message = trainer._error_message(MemoryError())
    assert "out of memory" in message and "smaller batch size" in message


def test_same_seed_same_curves_other_seed_other_curves(digits):
    settings = TrainSettings(epochs=2, batch_size=64, rotation_degrees=10, zoom=0.1)
    runs = [
        start_run(load_preset("default"), private_copy(digits), s)
        for s in (settings, settings, dataclasses.replace(settings, seed=1))
    ]
    for run in runs:
        finish(run)
    a, b, c = ([row["loss"] for row in run.history] for run in runs)
    assert a == pytest.approx(b, rel=1e-6)
    assert a != pytest.approx(c, rel=1e-3)


def test_more_runs_than_the_limit_queue_and_all_finish(digits):
    queue = TrainingQueue(limit=1)
    positions: list[int | None] = []
    runs = [
        start_run(
            load_preset("default"),
            private_copy(digits),
            TrainSettings(epochs=1, batch_size=64, seed=seed),
            queue=queue,
        )
        for seed in range(3)
    ]
    wait_until(lambda: any(r.status == "training" for r in runs))
    positions = sorted(r.queue_position or 0 for r in runs if r.status == "queued")
    assert positions == [1, 2]
    assert queue.running_count() == 1
    for run in runs:
        finish(run)
    assert [r.status for r in runs] == ["done"] * 3
    assert queue.running_count() == 0 and queue.waiting_count() == 0


def test_stopping_a_queued_run_frees_its_place(digits):
    queue = TrainingQueue(limit=1)
    first = start_run(
        load_preset("default"),
        private_copy(digits),
        TrainSettings(epochs=100, batch_size=16),
        queue=queue,
    )
    second = start_run(load_preset("default"), private_copy(digits), FAST, queue=queue)
    wait_until(lambda: second.queue_position == 1)
    second.stop()
    finish(second)
    assert second.status == "stopped"
    assert second.model is None  # nothing was trained, so no model was built
    assert "nothing was trained" in second.notes[-1]
    first.stop()
    finish(first)


def test_same_fingerprint_trains_once_from_any_session(digits):
    cache = ResultCache()
    settings = TrainSettings(epochs=2, batch_size=64, seed=7)
    # Two identical requests at the same time (two sessions of a workshop)...
    a = start_run(load_preset("default"), digits, settings, cache=cache)
    b = start_run(load_preset("default"), digits, settings, cache=cache)
    finish(a)
    finish(b)
    assert a.status == b.status == "done"
    assert a.model is b.model  # one training, one model
    # The one that came second says whose training it followed; neither is a cache hit.
    first, second = (a, b) if b.follows else (b, a)
    assert second.follows == first.id and first.follows is None
    assert not a.cached and not b.cached
    assert any(
        note.startswith("This run follows the training of another learner's run")
        for note in second.notes
    )
    # ...and one more afterwards reuses it at once.
    c = start_run(load_preset("default"), digits, settings, cache=cache)
    finish(c, timeout=30)
    assert c.cached and c.model is a.model
    assert c.history == a.history
    assert any("reuses its result" in note for note in c.notes)
    # A different seed is a different run.
    d = start_run(
        load_preset("default"), digits, dataclasses.replace(settings, seed=8), cache=cache
    )
    finish(d)
    assert not d.cached and d.model is not a.model


LONG = TrainSettings(epochs=200, batch_size=16, lr_schedule="constant", seed=3)


def identical_pair(digits, owners=("tab-1", "tab-1")):
    """Two identical runs of long training, the second following the first's."""
    cache = ResultCache()
    first = start_run(load_preset("default"), digits, LONG, cache=cache, owner=owners[0])
    wait_until(lambda: first.status == "training")
    second = start_run(load_preset("default"), digits, LONG, cache=cache, owner=owners[1])
    wait_until(lambda: second.follows == first.id and len(second.batches) >= 5)
    return first, second


def test_stop_on_a_follower_keeps_its_weights_and_the_other_trains_on(digits):
    first, second = identical_pair(digits)
    assert any(
        note.startswith(f"This run follows the training of run {first.id} of this session")
        for note in second.notes
    )
    second.stop()
    finish(second)
    assert second.status == "stopped" and second.error is None
    kept = len(second.batches)
    assert second.notes[-1] == (
        "Stopped: this run keeps a copy of the weights trained so far; the identical "
        f"training goes on for run {first.id} of this session."
    )
    probs = second.model.predict(digits.x_test[:8].astype("float32") / 255, verbose=0)
    assert probs.shape == (8, 10)
    # The other run really goes on training; what the stopped one kept does not change.
    wait_until(lambda: len(first.batches) > kept + 20)
    assert first.status == "training" and len(second.batches) == kept
    first.stop()
    finish(first)
    assert first.status == "stopped" and first.model is not second.model


def test_stop_on_the_run_that_began_a_shared_training_leaves_the_follower_training(digits):
    first, second = identical_pair(digits, owners=("tab-1", "tab-2"))
    assert any(
        note.startswith("This run follows the training of another learner's run")
        for note in second.notes
    )
    first.stop()
    finish(first)
    assert first.status == "stopped" and first.model is not None
    assert "goes on for another learner's run" in first.notes[-1]
    kept = len(first.batches)
    wait_until(lambda: len(second.batches) > kept + 20)
    assert second.status == "training"
    second.stop()  # the last one following: the training itself stops
    finish(second)
    assert second.status == "stopped" and len(second.batches) > kept
    assert not second.notes[-1].startswith("Stopped: this run keeps a copy")


def test_followers_of_a_queued_training_keep_nothing_and_the_last_stop_frees_the_place(digits):
    queue = TrainingQueue(limit=1)
    blocker = start_run(load_preset("default"), private_copy(digits), LONG, queue=queue)
    wait_until(lambda: blocker.status == "training")
    cache = ResultCache()
    first, second = (
        start_run(load_preset("default"), digits, LONG, queue=queue, cache=cache, owner="tab-1")
        for _ in range(2)
    )
    wait_until(lambda: first.queue_position == 1 and second.queue_position == 1)
    wait_until(lambda: (first.follows or second.follows) is not None)
    follower, starter = (second, first) if second.follows else (first, second)
    follower.stop()
    finish(follower)
    assert follower.status == "stopped" and follower.model is None
    assert follower.notes[-1] == (
        "Stopped before the first batch: nothing was trained, so there is no model; the "
        f"identical training goes on for run {starter.id} of this session."
    )
    assert starter.status == "queued"
    starter.stop()  # the last one following: the queued training gives up its place
    finish(starter)
    assert starter.status == "stopped" and starter.model is None
    assert "Stopped while waiting in the queue" in starter.notes[-1]
    assert queue.waiting_count() == 0
    blocker.stop()
    finish(blocker)


def test_a_separate_training_is_a_real_second_training_with_the_same_curves(digits):
    cache = ResultCache()
    runs = [
        start_run(load_preset("default"), digits, FAST, cache=cache, share=False) for _ in range(2)
    ]
    for run in runs:
        finish(run)
    a, b = runs
    assert a.status == b.status == "done"
    assert a.model is not b.model and a.follows is None and b.follows is None
    assert [r["loss"] for r in a.history] == pytest.approx([r["loss"] for r in b.history], rel=1e-6)
    assert len(cache) == 0


def test_uploaded_data_is_never_shared(digits):
    cache = ResultCache()
    upload = private_copy(digits)
    a = start_run(load_preset("default"), upload, FAST, cache=cache)
    finish(a)
    b = start_run(load_preset("default"), upload, FAST, cache=cache)
    finish(b)
    assert not a.cached and not b.cached
    assert a.model is not b.model
    assert len(cache) == 0


def test_the_cache_is_bounded():
    cache = ResultCache(max_entries=2)
    for key in "abc":
        cache.put(key, training.CachedResult(model=None, history=[], batches=[]))
    assert len(cache) == 2 and "a" not in cache and "c" in cache


def test_two_classes_use_one_sigmoid_unit_and_binary_accuracy(digits):
    keep_train, keep_test = digits.y_train < 2, digits.y_test < 2
    binary = Dataset(
        "zeros_and_ones",
        digits.x_train[keep_train],
        digits.y_train[keep_train],
        digits.x_test[keep_test],
        digits.y_test[keep_test],
        ["zero", "one"],
        "digits 0 and 1",
        shareable=False,
    )
    run = start_run(load_preset("default"), binary, TrainSettings(epochs=3, batch_size=32))
    finish(run)
    assert run.status == "done", run.error
    assert run.model.output_shape == (None, 1)
    assert run.history[-1]["val_accuracy"] > 0.9


def test_bad_settings_and_unfit_models_are_refused_with_one_sentence(digits):
    with pytest.raises(SpecError, match="learning rate"):
        start_run(load_preset("default"), digits, TrainSettings(learning_rate=0))
    big_kernels = ModelSpec(
        (28, 28, 1),
        [LayerSpec("Conv2D", {"kernel_size": 7}), LayerSpec("Conv2D", {"kernel_size": 7})],
    )
    with pytest.raises(SpecError, match="cannot take the 8×8×1 images of digits"):
        start_run(big_kernels, digits, FAST)


def test_early_stopping_ends_training_and_says_so(digits):
    settings = TrainSettings(
        epochs=30, batch_size=64, early_stopping=True, patience=1, learning_rate=0.05,
        lr_schedule="constant",
    )  # fmt: skip
    run = start_run(load_preset("default"), private_copy(digits), settings)
    finish(run)
    assert run.status == "done"
    assert len(run.history) < 30
    assert any("Early stopping" in note for note in run.notes)


def test_run_view_is_consistent_while_training(digits):
    run = start_run(
        load_preset("default"), private_copy(digits), TrainSettings(epochs=50, batch_size=16)
    )
    seen = []

    def reader() -> None:
        while not run.wait(0.01):
            view = run.view()
            seen.append((len(view.batches), view.fraction))

    thread = threading.Thread(target=reader)
    thread.start()
    wait_until(lambda: len(run.history) >= 1)
    run.stop()
    finish(run)
    thread.join()
    counts = [count for count, _ in seen]
    assert counts == sorted(counts)  # batches only ever grow
    assert all(0 <= fraction <= 1 for _, fraction in seen)


def test_the_input_pipeline_yields_each_split_image_once_per_epoch_without_autotune(digits):
    """Every training image once per epoch, none of the validation images, and no
    tf.data autotuning: its thread made fit return up to 40 s after the last batch."""
    settings = TrainSettings(epochs=2, batch_size=100, validation_split=0.2)
    data = input_pipeline.prepare_data(digits, settings, binary=False)
    for pipeline in (data.train, data.validation):
        assert pipeline.options().autotune.enabled is False

    def images(batches) -> list[bytes]:
        return sorted(image.tobytes() for image in np.concatenate(batches))

    seen = [x.numpy() for x, _ in data.train]
    assert len(seen) == 2 * data.steps_per_epoch
    first, second = seen[: data.steps_per_epoch], seen[data.steps_per_epoch :]
    assert images(first) == images(second) and len(images(first)) == data.n_train
    validation = [x.numpy() for x, _ in data.validation]
    everything = digits.x_train.astype(np.float32) / 255.0
    assert sorted(images(first) + images(validation)) == images([everything])
    assert [x[0].tobytes() for x in first] != [x[0].tobytes() for x in second]  # reshuffled
    # Each image keeps its own label, in both splits.
    label_of = {x.tobytes(): y for x, y in zip(everything, digits.y_train, strict=True)}
    for pipeline in (data.train, data.validation):
        for x, y in pipeline.take(2):
            assert [label_of[image.tobytes()] for image in x.numpy()] == list(y.numpy())


@pytest.mark.parametrize(("replicas", "batch_size"), [(2, 68), (3, 68), (4, 2), (8, 256)])
def test_every_batch_gives_each_replica_an_image(digits, replicas, batch_size):
    """MirroredStrategy splits each global batch over its replicas; an empty slice
    fails oneDNN's convolution on some CPUs. 1,437 digits, 10% for validation."""
    settings = TrainSettings(epochs=2, batch_size=batch_size, validation_split=0.1)
    data = input_pipeline.prepare_data(digits, settings, binary=False, replicas=replicas)
    single = input_pipeline.prepare_data(digits, settings, binary=False)
    train = [len(y) for _, y in data.train]
    validation = [len(y) for _, y in data.validation]
    assert min(train) >= replicas and min(validation) >= replicas

    # Nothing is dropped: each epoch still shows every training image, in as many steps
    # as on one device when the batch size allows it.
    def first_epoch(pipeline, steps) -> set[bytes]:
        return {image.tobytes() for x, _ in pipeline.take(steps) for image in x.numpy()}

    assert first_epoch(data.train, data.steps_per_epoch) == first_epoch(
        single.train, single.steps_per_epoch
    )
    assert sum(train) == 2 * (data.n_train + input_pipeline.replica_padding(
        data.n_train, data.batch_size, replicas))  # fmt: skip
    assert train[data.steps_per_epoch - 1] == data.last_batch_size
    if batch_size >= replicas:
        assert data.steps_per_epoch == single.steps_per_epoch
    assert sum(validation) == len(digits.x_train) - data.n_train


def test_replica_padding_tops_up_only_a_last_batch_too_small_to_split():
    assert input_pipeline.replica_padding(1293, 68, 2) == 1  # 19 batches of 68 and one of 1
    assert input_pipeline.replica_padding(1293, 68, 1) == 0
    assert input_pipeline.replica_padding(1292, 68, 2) == 0  # no remainder
    assert input_pipeline.replica_padding(1294, 68, 3) == 1  # 2 images for 3 replicas
    assert input_pipeline.replica_padding(1295, 68, 3) == 0  # 3 images: one each


@pytest.mark.parametrize(
    "array",
    [
        np.arange(5 * 7 * 7 * 3, dtype=np.uint8).reshape(5, 7, 7, 3),
        np.random.default_rng(0).random((3000, 40, 40)).astype(np.float32),  # several chunks
        np.zeros((0, 3), np.uint8),
        np.arange(12, dtype=np.int32).reshape(3, 4)[:, ::2],  # not contiguous
    ],
)
def test_host_tensor_holds_the_array(array):
    tensor = host_tensor(array)
    assert tensor.dtype.as_numpy_dtype == array.dtype
    np.testing.assert_array_equal(tensor.numpy(), array)


@pytest.mark.skipif(not rss_supported(), reason="reads the process's RSS from Linux /proc")
def test_host_tensor_keeps_one_copy_of_the_images():
    """tf.constant kept two (89 MB resident for MNIST's 47 MB of images)."""
    images = np.random.default_rng(0).integers(0, 256, (80_000, 28, 28), dtype=np.uint8)
    host_tensor(images[:1])  # TensorFlow's own start-up memory comes first
    before = rss_mb(os.getpid())
    tensor = host_tensor(images)
    grown = rss_mb(os.getpid()) - before
    assert grown < 1.4 * images.nbytes / 2**20, f"{grown:.0f} MB for {images.nbytes / 2**20:.0f} MB"
    assert tensor.shape == images.shape


# --- what the Train page writes about a run -------------------------------------------------

MODEL_TEXT = "Conv16 → MaxPool → Conv32 → MaxPool → Flatten → Dense10 · 20,490 params"


def test_the_train_page_lines_about_the_data_and_a_run(digits):
    assert run_compare.dataset_and_model_text(digits, load_preset("default")) == (
        f"1,437 training and 360 test images, 8×8×1, 10 classes. Model: {MODEL_TEXT}."
    )
    classes = [str(i) for i in range(10)]
    settings = TrainSettings().to_dict()
    training_run = Run("abc123", load_preset("default"), "digits", classes, settings,
                       "training", strategy="mirrored", device_count=2)  # fmt: skip
    view = training_run.view()
    assert run_compare.run_heading(view) == ":material/autorenew: Run abc123: training"
    assert run_compare.run_caption(training_run, view) == (
        f"{MODEL_TEXT} on digits · Adam lr 0.01 (cosine), batch 128, 4 epochs, val 10%, "
        "seed 0 · trains on 2 devices (mirrored)"
    )
    queued = Run("def456", load_preset("default"), "digits", classes, settings)
    assert run_compare.run_heading(queued.view()) == ":material/hourglass_empty: Run def456: queued"
    # Before it starts, nothing is known about its devices.
    assert run_compare.run_caption(queued, queued.view()).endswith(", seed 0")
    assert run_compare.queue_text(2, 3) == (
        "Waiting for a free slot: number 2 in the queue (3 runs train at once on this server)."
    )


def test_a_run_asked_to_stop_says_so_until_it_has_stopped():
    from dashboard.training.run_compare import run_heading

    run = Run("abc123", load_preset("default"), "digits28", [], status="training")
    assert "training" in run_heading(run.view())
    run.stop()
    assert run.view().stopping
    assert run_heading(run.view()) == ":material/pending: Run abc123: stopping after this batch"
    run.status = "stopped"
    assert not run.view().stopping and run_heading(run.view()).endswith("Run abc123: stopped")
