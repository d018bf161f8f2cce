"""Streamlit's after-run cleanup must not clear the Keras session or run a full GC
while a run trains (it stalled training 2-10x in the prototype)."""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import inspect
import sys
import textwrap
import threading
from pathlib import Path
from types import SimpleNamespace

import keras
import pytest
from streamlit import config
from streamlit.runtime.scriptrunner import script_runner
from streamlit.testing.v1 import AppTest

from dashboard import training
from dashboard.compat import streamlit_cleanup
from dashboard.data.builtins import load_builtin
from dashboard.model.presets import load_preset
from dashboard.training import TrainSettings

ROOT = Path(__file__).resolve().parents[2]


def _original_hook_source() -> str:
    module_source = inspect.getsource(script_runner)
    start = module_source.index("def _clean_problem_modules() -> None:")
    end = module_source.index("\n\n\n", start)
    return module_source[start:end]


def test_the_private_hook_is_the_one_we_patch():
    """Fails when Streamlit changes the hook, so an upgrade cannot silently undo the fix."""
    source = _original_hook_source()
    assert ".backend.clear_session()" in source
    assert hashlib.sha256(source.encode()).hexdigest() == HOOK_DIGEST
    # Streamlit looks the hook up as a module global after every run (so a swap works)...
    run_script = inspect.getsource(script_runner.ScriptRunner._run_script)
    assert "_log_if_error(_clean_problem_modules)" in run_script
    # ...and gates its full GC on runner.postScriptGC.
    finished = inspect.getsource(script_runner.ScriptRunner._on_script_finished)
    assert 'if config.get_option("runner.postScriptGC"):' in finished
    assert "gc.collect(2)" in finished
    # config.toml turns the GC off for `streamlit run`.
    assert "postScriptGC = false" in (ROOT / ".streamlit" / "config.toml").read_text()


# Streamlit 1.67's private hook that streamlit_cleanup replaces, verbatim. If an
# upgrade changes it, the test above fails: read the new hook and adapt the patch.
HOOK_DIGEST = hashlib.sha256(
    textwrap.dedent(
        '''\
        def _clean_problem_modules() -> None:
            """Some modules are stateful, so we have to clear their state."""

            if "keras" in sys.modules:
                try:
                    keras = sys.modules["keras"]
                    cast("Any", keras).backend.clear_session()
                except Exception:  # noqa: S110
                    # We don't want to crash the app if we can't clear the Keras session.
                    pass

            if "matplotlib.pyplot" in sys.modules:
                try:
                    plt = sys.modules["matplotlib.pyplot"]
                    cast("Any", plt).close("all")
                except Exception:  # noqa: S110
                    # We don't want to crash the app if we can't close matplotlib
                    pass'''
    ).encode()
).hexdigest()


@pytest.fixture
def cleanup_calls(monkeypatch):
    """Count Keras session clears and full collections that Streamlit's runner makes."""
    calls = {"clear_session": 0, "full_gc": 0}
    real_clear, real_collect = keras.backend.clear_session, gc.collect

    def counting_clear(*args, **kwargs):
        calls["clear_session"] += 1
        return real_clear(*args, **kwargs)

    def counting_collect(generation: int = 2):
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if caller.startswith("streamlit") and generation == 2:
            calls["full_gc"] += 1
        return real_collect(generation)

    monkeypatch.setattr(keras.backend, "clear_session", counting_clear)
    monkeypatch.setattr(gc, "collect", counting_collect)
    return calls


def _rerun_train_page_while_training(reruns: int = 3) -> training.Run:
    """Start a long run, then run the Train page (AppTest's runner calls Streamlit's
    real `_run_script`, which calls the cleanup hook after every run)."""
    digits = load_builtin("digits")
    upload = dataclasses.replace(digits, shareable=False, meta={})
    run = training.start_run(
        load_preset("default"), upload, TrainSettings(epochs=500, batch_size=8)
    )
    while len(run.batches) < 3:
        assert not run.wait(0.05), run.error
    at = AppTest.from_file(str(ROOT / "pages" / "train.py"), default_timeout=120)
    for _ in range(reruns):
        at.run()
        assert not at.exception
    return run


def _finish_a_script_run() -> None:
    """Streamlit's real end-of-run step (AppTest's runner overrides it, without the GC),
    called with the few attributes it reads."""
    runner = SimpleNamespace(
        _join_wake_lock=threading.Lock(),
        _join_wake_coordinator=None,
        on_event=SimpleNamespace(send=lambda *args, **kwargs: None),
    )
    ctx = SimpleNamespace(has_script_started=False)
    script_runner.ScriptRunner._on_script_finished(
        runner, ctx, script_runner.ScriptRunnerEvent.SCRIPT_STOPPED_WITH_SUCCESS, True, None
    )


def test_the_detector_sees_streamlits_own_cleanup(cleanup_calls):
    """Without the fix (original hook, GC on), the counters do move."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(script_runner, "_clean_problem_modules", streamlit_cleanup.ORIGINAL_HOOK)
        mp.setattr(streamlit_cleanup, "install", lambda: True)  # the page must not re-patch
        config.set_option("runner.postScriptGC", True)
        try:
            run = _rerun_train_page_while_training(reruns=1)
            _finish_a_script_run()
        finally:
            config.set_option("runner.postScriptGC", False)
        run.stop()
        run.wait(120)
    assert cleanup_calls["clear_session"] >= 1
    assert cleanup_calls["full_gc"] >= 1


def test_cleanup_leaves_keras_and_gc_alone_while_a_run_trains(cleanup_calls):
    run = _rerun_train_page_while_training(reruns=3)  # the page installs the fix itself
    try:
        for _ in range(3):
            _finish_a_script_run()
        assert streamlit_cleanup.is_installed()
        assert config.get_option("runner.postScriptGC") is False
        assert run.status == "training"
        assert cleanup_calls == {"clear_session": 0, "full_gc": 0}
    finally:
        run.stop()
        run.wait(120)
    assert run.status == "stopped"
