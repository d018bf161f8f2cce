"""One learner can never take a shared server down: every cap, the memory budget, fair
share and the page guard, through the functions the pages call."""

from __future__ import annotations

import gc
import json
import re
import threading
import time
import tomllib
from dataclasses import replace
from pathlib import Path

import hostile_files as hostile
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.data import budget, limits
from dashboard.data.budget import BudgetError, MemoryBudget
from dashboard.data.builtins import load_builtin
from dashboard.data.byte_cache import ByteLRU
from dashboard.data.datasets import DataError
from dashboard.data.npz import load_npz_bytes
from dashboard.data.uploads import UploadOptions, load_upload
from dashboard.insight.inference import prepare_many
from dashboard.insight.models import ModelFileError, load_model_file
from dashboard.model.presets import load_preset
from dashboard.model.share_links import spec_from_link_param
from dashboard.model.spec import ModelSpec, SpecError
from dashboard.training import TrainSettings, active_run_count, start_run
from dashboard.training.admission import MAX_LIVE_RUNS_PER_SESSION, training_refusal
from dashboard.training.pool import TrainingQueue
from dashboard.ui import navigation, state

ROOT = Path(__file__).resolve().parents[2]
MB = limits.MB


# --- the memory budget -----------------------------------------------------------------


def test_the_budget_says_how_much_is_allowed_and_frees_what_is_released():
    pool = MemoryBudget(total_bytes=1000 * MB, runtime_bytes=200 * MB)
    assert pool.per_task == 800 * MB
    never = pool.verdict(900 * MB, "Training this", "use a smaller batch size")
    assert never.startswith("Training this needs about 900 MB of memory, more than the 800 MB")
    assert "(over by 100 MB); use a smaller batch size." in never
    first = pool.hold(500 * MB, "A", "fix")
    busy = pool.verdict(400 * MB, "Decoding b.zip", "upload fewer images")
    assert "only 300 MB of this server's budget is free while other work runs" in busy
    with pytest.raises(BudgetError, match="only 300 MB"):
        pool.hold(400 * MB, "Decoding b.zip", "upload fewer images")
    first.release()
    first.release()  # twice is harmless
    with pool.reserve(400 * MB, "Decoding b.zip", "fix"):
        assert pool.free() == 400 * MB
    assert pool.free() == 800 * MB


def test_memory_held_for_an_object_is_freed_with_it():
    pool = MemoryBudget(total_bytes=100 * MB, runtime_bytes=0)

    class Kept:
        pass

    kept = Kept()
    pool.hold_for(kept, 60 * MB, "An upload", "fix")
    assert pool.free() == 40 * MB
    del kept
    gc.collect()
    assert pool.free() == 100 * MB


def test_the_budget_comes_from_one_setting(monkeypatch):
    monkeypatch.setenv(budget.BUDGET_ENV, "3000")
    assert MemoryBudget().total == 3000 * MB
    monkeypatch.setenv(budget.BUDGET_ENV, "lots")
    assert MemoryBudget().total == budget.DEFAULT_BUDGET_MB * MB


# --- models too large to build or train --------------------------------------------------


def test_a_legal_but_huge_model_is_refused_before_anything_is_built():
    before = active_run_count()
    message = training_refusal(hostile.huge_spec(), 64)
    assert message.startswith("This model has 6,") and "at most 25,000,000" in message
    with pytest.raises(SpecError, match="parameters; a model may have at most"):
        start_run(hostile.huge_spec(), load_builtin("digits28"), TrainSettings(epochs=1))
    assert active_run_count() == before


def test_a_model_too_big_for_memory_at_this_batch_size_says_by_how_much():
    cats = load_preset("cats_vs_dogs")
    message = training_refusal(cats, 128)
    assert "at batch size 128 needs about" in message and "over by" in message
    assert "use a smaller batch size" in message
    assert training_refusal(cats, 16) is None


def test_a_run_of_too_many_batches_is_refused(monkeypatch):
    monkeypatch.setattr(limits, "MAX_RUN_BATCHES", 1000)
    digits = load_builtin("digits")  # 1,437 training images: 180 batches of 8 an epoch
    with pytest.raises(SpecError, match="would train 1,800 batches; one run may train"):
        start_run(load_preset("default"), digits, TrainSettings(epochs=10, batch_size=8))


# --- specs, links and spec files -------------------------------------------------------


def test_a_short_link_with_40000_layers_is_refused_in_a_sentence():
    link = hostile.many_layers_link(40_000)
    assert len(link) < 4000  # small on the wire
    with pytest.raises(SpecError, match="unpacks to more than 64 KB"):
        spec_from_link_param(link)


def test_specs_with_too_many_layers_too_deep_or_too_long_are_refused():
    layers = [{"type": "Dropout", "rate": 0.1}] * (limits.MAX_LAYERS + 1)
    with pytest.raises(SpecError, match="has 65 layers; a model may have at most 64"):
        ModelSpec.from_json(json.dumps({"input_shape": [8, 8, 1], "layers": layers}))
    nested = '{"input_shape": [8, 8, 1], "layers": [], "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(SpecError, match="upload a file saved by"):
        ModelSpec.from_json(nested)  # too long, and too deep for json.loads
    deep = '{"input_shape": [8, 8, 1], "layers": [], "x": ' + "[" * 50 + "]" * 50 + "}"
    with pytest.raises(SpecError, match="nests 51 levels deep"):
        ModelSpec.from_json(deep)
    with pytest.raises(SpecError, match="share link holds at most 16,000"):
        spec_from_link_param("A" * 20_000)


def test_a_huge_input_shape_is_refused():
    data = {"input_shape": [20_000, 20_000, 3], "layers": []}
    with pytest.raises(SpecError, match="height and width must be 1 to 1024"):
        ModelSpec.from_json(json.dumps(data))


# --- .keras files ----------------------------------------------------------------------


def test_a_small_keras_file_that_declares_gigabytes_is_refused_before_keras_builds_it():
    data = hostile.bomb_keras()
    assert len(data) < 200_000
    with pytest.raises(ModelFileError, match=r"declares [0-9,]+ weights; models here may have"):
        load_model_file(data, "bomb.keras")


def test_a_keras_model_with_a_20000_pixel_input_is_refused():
    with pytest.raises(ModelFileError, match="takes 20000×20000×1 images; CNN Lab prepares"):
        load_model_file(hostile.wide_keras(), "wide.keras")


def test_a_keras_file_that_hides_its_layers_input_shapes_is_refused():
    with pytest.raises(ModelFileError, match="saved without its layers' input shapes"):
        load_model_file(hostile.shapeless_keras(), "shapeless.keras")


def test_a_keras_file_with_a_huge_config_is_refused_before_it_is_parsed():
    with pytest.raises(ModelFileError, match=r"config\.json, far more than"):
        load_model_file(hostile.padded_config_keras(), "padded.keras")


def test_the_shipped_model_still_loads():
    classifier = load_model_file(hostile.keras_bytes(), "digits.keras")
    assert classifier.input_shape == (28, 28, 1)


# --- zips and .npz ---------------------------------------------------------------------


def test_a_zip_that_lies_about_its_compressed_sizes_is_refused():
    with pytest.raises(DataError, match="its directory declares 30 MB of packed data"):
        load_upload(hostile.lying_zip(), "liar.zip")


def test_one_member_may_not_take_the_whole_unpacked_allowance():
    data = hostile.big_member_zip(65)
    assert len(data) < MB
    with pytest.raises(DataError, match="which unpacks to 65 MB; one file may be at most 64 MB"):
        load_upload(data, "big.zip")


def test_tiny_pngs_upscaled_past_the_dataset_limit_are_refused_before_decoding():
    data = hostile.dots_zip(5_500)
    assert len(data) < 3 * MB
    with pytest.raises(DataError, match="11,000 images of 128×128 would take 516 MB"):
        load_upload(data, "dots.zip", UploadOptions(size=128))


def test_the_pixels_one_upload_decodes_are_capped(monkeypatch):
    monkeypatch.setattr(limits, "MAX_DECODED_PIXELS_PER_UPLOAD", 10_000)
    picture = hostile.png(np.zeros((60, 60, 3), np.uint8))
    entries = [(f"{c}/{i}.png", picture) for c in "ab" for i in range(2)]
    with pytest.raises(DataError, match="hold more than 10,000 pixels together"):
        load_upload(hostile.make_zip(entries), "photos.zip")


def test_an_npz_whose_header_lies_about_its_shape_is_refused_before_numpy_allocates():
    """NumPy allocates the shape a header declares, then reads: ten million images
    declared over 384 bytes of data (a valid zip, CRCs and all)."""
    with pytest.raises(DataError, match=r"'x_train\.npy' declares 610 MB but holds"):
        load_npz_bytes(hostile.lying_npz(), "liar.npz")


def test_an_npz_too_large_in_all_or_with_too_many_class_names_is_refused(monkeypatch):
    names = np.array([f"c{i}" for i in range(2000)])
    with pytest.raises(DataError, match="names 2,000 classes; CNN Lab takes at most 1,000"):
        load_npz_bytes(hostile.npz_bytes(**hostile.small_arrays(), class_names=names), "names.npz")
    with pytest.raises(DataError, match="has 1,000,000,001 classes"):
        load_npz_bytes(
            hostile.npz_bytes(**hostile.small_arrays(y_train=np.array([0, 1, 0, 1, 0, 10**9]))),
            "y.npz",
        )
    # 576 bytes of arrays in all, none of them over 550.
    monkeypatch.setattr(limits, "MAX_DATASET_BYTES", 550)
    with pytest.raises(DataError, match="holds 576 bytes of arrays; a dataset may take at most"):
        load_npz_bytes(hostile.npz_bytes(**hostile.small_arrays()), "big.npz")


# --- Classify ------------------------------------------------------------------------------


def test_classify_takes_a_bounded_number_of_images_and_keeps_them_small():
    flat = hostile.png(np.full((1500, 1000, 3), 200, np.uint8))  # small on the wire
    files = [(f"{i}.png", flat) for i in range(limits.MAX_CLASSIFY_IMAGES + 6)]
    prepared, errors = prepare_many(files, (28, 28, 1))
    assert len(prepared) == limits.MAX_CLASSIFY_IMAGES
    assert errors == [
        f"You gave {len(files)} images; CNN Lab classifies at most "
        f"{limits.MAX_CLASSIFY_IMAGES} at once, so the first {limits.MAX_CLASSIFY_IMAGES} "
        "are shown; remove some to see the others."
    ]
    assert max(prepared[0].original.size) == 512  # kept for display, not 1500 px


# --- fair share ------------------------------------------------------------------------------


def test_the_queue_serves_sessions_in_turn():
    queue = TrainingQueue(limit=1, per_owner=2)
    order: list[str] = []
    release = threading.Event()

    def worker(owner: str, name: str) -> None:
        ticket = queue.acquire(lambda place: None, lambda: False, poll=0.01, owner=owner)
        order.append(name)
        release.wait(5)
        queue.release(ticket)

    first = threading.Thread(target=worker, args=("greedy", "g1"))
    first.start()
    while queue.running_count() == 0:
        time.sleep(0.01)
    threads = [threading.Thread(target=worker, args=("greedy", f"g{i}")) for i in (2, 3, 4)]
    for thread in threads:
        thread.start()
        time.sleep(0.05)  # the greedy session queues first...
    late = threading.Thread(target=worker, args=("other", "o1"))
    late.start()
    time.sleep(0.05)
    release.set()
    for thread in [first, *threads, late]:
        thread.join(10)
    # ...but the other learner goes next, before greedy's second run.
    assert order[:2] == ["g1", "o1"]
    assert sorted(order) == ["g1", "g2", "g3", "g4", "o1"]


def test_one_session_may_have_only_a_few_runs_going():
    digits = load_builtin("digits")
    settings = TrainSettings(epochs=200, batch_size=8)
    queue = TrainingQueue(limit=1)

    def start(seed: int, owner: str):
        return start_run(
            load_preset("default"), digits, replace(settings, seed=seed), queue=queue, owner=owner
        )

    runs = [start(seed, "learner-a") for seed in range(MAX_LIVE_RUNS_PER_SESSION)]
    try:
        with pytest.raises(SpecError, match="You already have 3 runs queued or training"):
            start(50, "learner-a")
        runs.append(start(99, "learner-b"))  # another learner is not held back by it
    finally:
        for run in runs:
            run.stop()
        for run in runs:
            assert run.wait(300)
    queued = [run for run in runs if "nothing was trained" in " ".join(run.notes)]
    assert queued and all(run.model is None for run in queued)  # no model built for them


def test_a_long_run_keeps_its_batch_history_small(monkeypatch):
    from dashboard.training import callbacks

    monkeypatch.setattr(callbacks, "MAX_BATCH_POINTS", 40)
    run = start_run(load_preset("default"), load_builtin("digits"),
                    TrainSettings(epochs=3, batch_size=16, seed=11))  # fmt: skip
    assert run.wait(300) and run.status == "done", run.error
    steps = [b["step"] for b in run.batches]
    assert len(steps) <= 40 and steps == sorted(steps)
    assert steps[-1] > 0.9 * 3 * run.steps_per_epoch  # the end of the run is still there
    assert len(set(np.diff(steps))) == 1  # evenly thinned


def test_caches_are_bounded_by_bytes():
    cache: ByteLRU[bytes] = ByteLRU(10, len)
    cache.put("a", b"12345")
    cache.put("b", b"12345")
    cache.put("c", b"123")
    assert "a" not in cache and cache.nbytes() == 8
    cache.put("huge", b"x" * 50)  # the newest stays, alone
    assert len(cache) == 1 and "huge" in cache


# --- no traceback on a page ---------------------------------------------------------------


def test_an_error_nothing_caught_becomes_one_sentence(tmp_path):
    script = tmp_path / "broken.py"
    script.write_text(
        "from dashboard.ui.navigation import run_guarded\n"
        "def page():\n    raise KeyError('internal detail')\n"
        "run_guarded(page)\n"
    )
    at = AppTest.from_file(str(script), default_timeout=30).run()
    assert not at.exception
    assert [e.value for e in at.error] == [navigation.UNEXPECTED_ERROR]
    assert "internal detail" not in str(at.main)


def test_the_server_shows_no_error_details():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"


# --- the pages ---------------------------------------------------------------------------------


def test_build_page_refuses_a_link_with_40000_layers_and_keeps_the_model():
    at = AppTest.from_file(str(ROOT / "pages" / "build.py"), default_timeout=30)
    at.query_params["spec"] = hostile.many_layers_link(40_000)
    at.run()
    assert not at.exception
    assert any("unpacks to more than 64 KB" in e.value for e in at.error)
    assert len(at.dataframe[0].value) == 7  # the default model, unchanged


def test_build_page_says_before_start_what_the_train_page_will_refuse():
    at = AppTest.from_file(str(ROOT / "pages" / "build.py"), default_timeout=30)
    at.session_state[state.SPEC_KEY] = hostile.huge_spec()
    at.run()
    assert not at.exception
    (error,) = [e.value for e in at.error]
    assert (
        error
        == f"{training_refusal(hostile.huge_spec(), 64)} The Train page will not start it as it is."
    )


def test_train_page_refuses_start_for_a_huge_model_and_loses_nothing():
    at = AppTest.from_file(str(ROOT / "pages" / "train.py"), default_timeout=120)
    at.session_state[state.SPEC_KEY] = hostile.huge_spec()
    at.run()
    at.session_state["train_w_epochs"] = 3
    at.button(key="start_training").click().run()
    assert not at.exception
    assert any("parameters; a model may have at most" in e.value for e in at.error)
    assert not at.session_state["runs"]
    assert at.session_state[state.SPEC_KEY].layers[0].params["filters"] == 1024  # kept
    assert at.number_input(key="train_w_epochs").value == 3  # the settings too


def test_classify_page_refuses_a_model_bomb_and_keeps_its_model():
    at = AppTest.from_file(str(ROOT / "pages" / "classify.py"), default_timeout=120).run()
    at.selectbox[0].set_value("upload").run()
    at.file_uploader(key="model_file").set_value(
        ("bomb.keras", hostile.bomb_keras(), "application/octet-stream")
    ).run()
    assert not at.exception
    (error,) = [e.value for e in at.error]
    assert re.fullmatch(
        r"bomb\.keras declares [\d,]+ weights; .* so upload a smaller model\.", error
    )
    # The same page still works with a real model at once.
    at.file_uploader(key="model_file").set_value(
        ("digits.keras", hostile.keras_bytes(), "application/octet-stream")
    ).run()
    assert not at.exception and not at.error


def test_a_browser_keeps_its_id_when_streamlit_masks_its_xsrf_cookie_anew():
    """Tornado re-masks the XSRF token each time it writes the cookie; the id follows
    the token, so one browser keeps one id and another browser gets another."""
    from dashboard.ui.sessions import browser_id_from_xsrf, valid_token

    token = bytes.fromhex("00112233445566778899aabbccddeeff")

    def cookie(mask: bytes, secret: bytes = token) -> str:
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(secret))
        return f"2|{mask.hex()}|{masked.hex()}|1796140863"

    one = browser_id_from_xsrf(cookie(b"\x01\x02\x03\x04"))
    assert one == browser_id_from_xsrf(cookie(b"\xaa\xbb\xcc\xdd")) and valid_token(one)
    assert one != browser_id_from_xsrf(cookie(b"\x01\x02\x03\x04", bytes(16)))
    assert valid_token(browser_id_from_xsrf("not-tornado-format"))
