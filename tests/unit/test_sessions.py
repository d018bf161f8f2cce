"""The session store: runs per browser session, kept across reloads, freed at the end."""

from __future__ import annotations

import dataclasses
import time

from dashboard import training
from dashboard.data.builtins import load_builtin
from dashboard.model.presets import load_preset
from dashboard.training import TrainSettings
from dashboard.ui import sessions
from dashboard.ui.sessions import SessionStore


def test_tokens_are_long_random_and_checked():
    tokens = {sessions.new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(sessions.valid_token(t) and len(t) >= 32 for t in tokens)
    for bad in (None, "", "abc", "x" * 31, "a" * 20 + "/../" + "b" * 20, 42):
        assert not sessions.valid_token(bad)


def test_each_token_has_its_own_runs_and_keeps_them():
    store = SessionStore(ttl=60, is_connected=lambda sid: False, auto_reap=False)
    a, b = sessions.new_token(), sessions.new_token()
    store.runs(a)["r1"] = "run one"
    assert store.runs(b) == {}
    # A reload comes back with the same token and finds the same dict.
    assert store.runs(a) is store.runs(a)
    assert store.runs(a) == {"r1": "run one"}
    # The tab's other work is kept the same way.
    store.kept(a)["spec"] = "the model being built"
    assert store.kept(b) == {} and store.kept(a) is store.kept(a)


def test_a_session_gone_longer_than_the_ttl_stops_its_runs_and_frees_them():
    store = SessionStore(ttl=0.2, is_connected=lambda sid: False, auto_reap=False)
    gone, alive = sessions.new_token(), sessions.new_token()
    digits = dataclasses.replace(load_builtin("digits"), shareable=False, meta={})
    run = training.start_run(load_preset("default"), digits, TrainSettings(epochs=500))
    store.touch(gone, "tab-1")
    runs = store.runs(gone)
    runs[run.id] = run
    kept = store.kept(gone)
    kept["dataset"] = digits
    store.touch(alive, "tab-2")
    time.sleep(0.3)
    store.touch(alive)  # this one still sends reruns
    assert store.reap() == [gone]
    assert run.stop_requested
    assert run.wait(120)
    assert run.status in ("stopped", "done")
    assert runs == {} and kept == {}  # whoever still holds the dicts holds nothing
    assert store.tokens() == [alive]


def test_a_connected_tab_keeps_its_session_past_the_ttl():
    store = SessionStore(ttl=0.1, is_connected=lambda sid: sid == "open-tab", auto_reap=False)
    token = sessions.new_token()
    store.touch(token, "open-tab")
    store.runs(token)["r"] = "run"
    time.sleep(0.2)
    assert store.reap() == []
    assert store.runs(token) == {"r": "run"}


def test_the_reaper_thread_ends_sessions_on_its_own():
    store = SessionStore(ttl=0.2, is_connected=lambda sid: False)
    token = sessions.new_token()
    store.touch(token)
    deadline = time.monotonic() + 30
    while token in store.tokens():
        assert time.monotonic() < deadline, "the reaper never ended the session"
        time.sleep(0.05)
