"""Every run this process has queued or training, shared by all browser sessions: the
queue and result cache, the one training that identical runs share, the TensorFlow
warm-up, and what happens at exit or when nothing trains.

TensorFlow is imported inside functions only.
"""

from __future__ import annotations

import atexit
import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dashboard.compat.tf_gradients import release_traced_gradients
from dashboard.training.pool import ResultCache, TrainingQueue
from dashboard.training.run import Run

_LOG = logging.getLogger(__name__)

# Process-wide: one queue and one cache for every browser session.
QUEUE = TrainingQueue()
CACHE = ResultCache()
# The one training of each fingerprint going on now, shared by every identical run.
_SHARED: dict[str, SharedTraining] = {}
_SHARED_LOCK = threading.Lock()
_LIVE: set[Run] = set()  # every queued or training run, for gc decisions
_LIVE_LOCK = threading.Lock()


def add(run: Run) -> None:
    """Count `run` as live from its start until `finish(run)`."""
    with _LIVE_LOCK:
        _LIVE.add(run)


def finish(run: Run) -> None:
    """`run` has ended; when it was the last one, its traced step graphs can go."""
    with _LIVE_LOCK:
        _LIVE.discard(run)
        idle = not _LIVE
    if idle:
        release_traced_gradients()


def live_runs_of(owner: str | None) -> int:
    """Runs queued or training that this browser session started (0 for no owner)."""
    if owner is None:
        return 0
    with _LIVE_LOCK:
        return sum(1 for run in _LIVE if run.owner == owner)


@dataclass(eq=False)
class SharedTraining:
    """One training that identical runs follow: `source` is a hidden Run the Trainer
    fills; `followers` are the learners' runs mirroring it."""

    source: Run
    followers: list[Run] = field(default_factory=list)


def join(
    fingerprint: str, run: Run, new_source: Callable[[], Run]
) -> tuple[SharedTraining, bool, Run | None]:
    """Make `run` follow the training of `fingerprint`, beginning one with `new_source()`
    when none is going (or it is stopping). Returns it, whether it is new, and a run
    already following it (one of `run`'s own session first), to name to the learner."""
    with _SHARED_LOCK:
        shared = _SHARED.get(fingerprint)
        fresh = shared is None or shared.source.stop_requested or shared.source.wait(0)
        if fresh:
            shared = _SHARED[fingerprint] = SharedTraining(new_source())
        others = sorted(shared.followers, key=lambda other: other.owner != run.owner)
        shared.followers.append(run)
        return shared, fresh, (others[0] if others else None)


def leave(shared: SharedTraining, run: Run) -> list[Run]:
    """`run` stops following; returns the runs still following. The last to leave stops
    the training itself (and gets [])."""
    with _SHARED_LOCK:  # nobody joins between the last leaving and the stop
        if run in shared.followers:
            shared.followers.remove(run)
        if not shared.followers:
            shared.source.stop()
        return list(shared.followers)


def retire(fingerprint: str, source: Run) -> None:
    """The training `source` has ended: a new identical request starts afresh."""
    with _SHARED_LOCK:
        shared = _SHARED.get(fingerprint)
        if shared is not None and shared.source is source:
            del _SHARED[fingerprint]


_WARM_UP_LOCK = threading.Lock()
_WARM_UP_STARTED = False


def warm_up() -> None:
    """Import TensorFlow and Keras in a background thread, once per process, so the
    first Start does not wait for the import (10 to 40 s on a busy 2-core machine)."""
    global _WARM_UP_STARTED
    with _WARM_UP_LOCK:
        if _WARM_UP_STARTED:
            return
        _WARM_UP_STARTED = True

    def _import() -> None:
        try:
            import keras  # noqa: F401
        except Exception:  # training reports import errors itself, to the user
            _LOG.exception("warming up TensorFlow failed")

    threading.Thread(target=_import, name="tensorflow-warm-up", daemon=True).start()


def active_run_count() -> int:
    """Runs queued or training in this process, across all sessions."""
    with _LIVE_LOCK:
        return len(_LIVE)


def stop_all(timeout: float = 10.0) -> None:
    """Stop every live run and wait a little for each (at interpreter exit: a thread
    still inside TensorFlow when Python shuts down aborts the process)."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    with _SHARED_LOCK:  # stopped directly, so no follower copies weights on the way out
        live += [shared.source for shared in _SHARED.values()]
    for run in live:
        run.stop()
    deadline = time.monotonic() + timeout
    for run in live:
        run.wait(max(0.0, deadline - time.monotonic()))


atexit.register(stop_all)


def collect_garbage_if_idle() -> bool:
    """A full gc.collect() frees a deleted run's model, but holds the GIL ~0.4 s with
    TensorFlow loaded; only do it while nothing trains. True if it ran."""
    if active_run_count():
        return False
    release_traced_gradients()
    gc.collect()
    return True
