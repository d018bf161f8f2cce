"""Memory on a small Cloud box (about 2.7 GB): what one server process holds.

The build and convolution pages' "no TensorFlow" tests live with those pages
(test_page_build.py, test_convolution_page.py); the home page's is here. The rest
drive a real `streamlit run` server from Chromium sessions and read its RSS.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import start_app_server, stop_app_server
from session_driver import PeakRss, rss_mb, rss_supported, start_training, wait_for_run

ROOT = Path(__file__).resolve().parents[2]

ONE_RUN_LIMIT_MB = 1000
PER_EXTRA_RUN_LIMIT_MB = 150
SESSION_RETURN_LIMIT_MB = 100
SESSIONS = 20
TTL_SECONDS = 2


def test_home_page_never_imports_tensorflow():
    """The app's entry point opens on home: neither imports TensorFlow."""
    code = (
        "import sys; from streamlit.testing.v1 import AppTest;"
        "at = AppTest.from_file('streamlit_app.py', default_timeout=30).run();"
        "assert not at.exception, at.exception;"
        "assert at.title[0].value == 'CNN Lab';"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip().splitlines()[-1] == "False False"


def test_finished_run_leaves_no_traced_step_behind():
    """TensorFlow's gradient registry and the model's step functions would otherwise
    keep every run's train-step graph alive (the server grew ~12 MB per run)."""
    from tensorflow.python.framework import ops

    from dashboard.data.builtins import load_builtin
    from dashboard.model.presets import load_preset
    from dashboard.training import TrainSettings, start_run

    run = start_run(load_preset("default"), load_builtin("digits"), TrainSettings(epochs=1, seed=7))
    assert run.wait(300) and run.status == "done", run.error
    registry = ops._gradient_registry._registry
    assert not [name for name in registry if name.startswith("CustomGradient-")]
    assert run.model.train_function is None and run.model.test_function is None
    # The finished model still predicts.
    x = load_builtin("digits").x_test[:4].astype("float32") / 255
    assert run.model.predict(x, verbose=0).shape == (4, 10)


# --- a live server ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(artifacts_dir):
    if not rss_supported():
        pytest.skip("reading a process's RSS needs Linux's /proc")
    proc, url = start_app_server(
        {
            "CNNLAB_SESSION_TTL": str(TTL_SECONDS),
            # Streamlit keeps a closed tab's session state (uploads) this long for a reconnect.
            "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(TTL_SECONDS),
            "CNNLAB_MAX_CONCURRENT_RUNS": "3",  # let three runs overlap to measure each
        }
    )
    yield proc, url
    stop_app_server(proc)


def settle(pid: int, seconds: float) -> float:
    """RSS after the session TTL and the reaper have had time to act."""
    time.sleep(seconds)
    return rss_mb(pid)


@pytest.mark.browser
@pytest.mark.slow
def test_one_run_and_each_concurrent_run_stay_small(server, browser):
    proc, url = server
    with PeakRss(proc.pid) as peak:
        context = browser.new_context()
        page = context.new_page()
        run_id = start_training(page, url, seed=1)
        wait_for_run(page, run_id)
        one_run = peak.peak
        context.close()
        print(f"one run: peak {one_run:.0f} MB")
        assert one_run < ONE_RUN_LIMIT_MB

        # Three sessions train at once (longer runs, so they overlap), different seeds.
        peak.reset()
        before = rss_mb(proc.pid)
        contexts = [browser.new_context() for _ in range(3)]
        pages = [c.new_page() for c in contexts]
        ids = [start_training(p, url, seed=10 + i, epochs=10) for i, p in enumerate(pages)]
        for p, rid in zip(pages, ids, strict=True):
            wait_for_run(p, rid)
        for c in contexts:
            c.close()
        extra = (peak.peak - max(before, one_run)) / 2
        print(f"three concurrent runs: peak {peak.peak:.0f} MB, {extra:.0f} MB per extra run")
        assert extra < PER_EXTRA_RUN_LIMIT_MB


@pytest.mark.browser
@pytest.mark.slow
def test_ended_sessions_free_their_runs(server, browser):
    proc, url = server
    # Warm-up: TensorFlow loaded, the step functions' code paths imported.
    context = browser.new_context()
    page = context.new_page()
    wait_for_run(page, start_training(page, url, seed=99))
    context.close()
    start = settle(proc.pid, 3 * TTL_SECONDS)

    # 20 sessions, four at a time, each trains its own run (own seed: a real training).
    with PeakRss(proc.pid) as peak:
        for first in range(0, SESSIONS, 4):
            contexts = [browser.new_context() for _ in range(4)]
            pages = [c.new_page() for c in contexts]
            ids = [start_training(p, url, seed=200 + first + i) for i, p in enumerate(pages)]
            for p, rid in zip(pages, ids, strict=True):
                wait_for_run(p, rid)
            for c in contexts:
                c.close()
    end = settle(proc.pid, 3 * TTL_SECONDS)
    print(f"20 sessions: start {start:.0f} MB, peak {peak.peak:.0f} MB, end {end:.0f} MB")
    assert end - start < SESSION_RETURN_LIMIT_MB
