"""Process-wide pieces shared by every session's runs: the concurrency queue and the
result cache. Pure Python (no TensorFlow), so both are testable on their own.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dashboard.data.byte_cache import ByteLRU


def _env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


def cpu_quota() -> int:
    """The CPUs this process may really use: the cgroup's `cpu.max` quota (a container
    on a shared host), the CPUs it is allowed to run on, or the machine's count."""
    counts = [getattr(os, "process_cpu_count", os.cpu_count)() or 1]
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            counts.append(max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return min(counts)


@dataclass
class _Waiter:
    ticket: int
    on_position: Callable[[int | None], None]
    owner: str | None


class TrainingQueue:
    """A fair limit on concurrent trainings: sessions are served in turn.

    When a slot frees, the waiting run whose session has the fewest runs training goes
    next (then the session served longest ago, then the earliest ticket), so one
    learner who queues many runs cannot hold everyone else back, and no session trains
    more than `per_owner` runs at once. A waiting run learns its 1-based place through
    `on_position`, so the page can say "2nd in the queue". `acquire` gives up when
    `should_stop()` turns true.
    """

    def __init__(self, limit: int | None = None, per_owner: int = 2) -> None:
        self._cond = threading.Condition()
        self._limit = limit or _env_int("CNNLAB_MAX_CONCURRENT_RUNS", cpu_quota())
        self.per_owner = per_owner
        self._running: dict[int, str | None] = {}  # ticket -> owner
        self._waiting: list[_Waiter] = []
        self._served: dict[str | None, int] = {}  # owner -> when it last got a slot
        self._next_ticket = 0

    @property
    def limit(self) -> int:
        return self._limit

    def set_limit(self, limit: int) -> None:
        with self._cond:
            self._limit = max(1, int(limit))
            self._cond.notify_all()

    def running_count(self) -> int:
        with self._cond:
            return len(self._running)

    def waiting_count(self) -> int:
        with self._cond:
            return len(self._waiting)

    def _order(self) -> list[_Waiter]:
        """The waiting runs in the order they will be served."""
        training = Counter(self._running.values())

        def turn(waiter: _Waiter) -> tuple[int, int, int]:
            return (training[waiter.owner], self._served.get(waiter.owner, 0), waiter.ticket)

        return sorted(self._waiting, key=turn)

    def _next(self) -> _Waiter | None:
        """The waiting run that gets the next free slot, if one is free."""
        if len(self._running) >= self._limit:
            return None
        training = Counter(self._running.values())
        for waiter in self._order():
            if waiter.owner is None or training[waiter.owner] < self.per_owner:
                return waiter
        return None

    def _announce(self) -> None:
        for place, waiter in enumerate(self._order(), start=1):
            waiter.on_position(place)

    def acquire(
        self,
        on_position: Callable[[int | None], None],
        should_stop: Callable[[], bool],
        poll: float = 0.1,
        owner: str | None = None,
    ) -> int | None:
        """Wait for a free slot: a ticket for release() once it is ours, None if
        `should_stop()` turned true while waiting. `owner` is the browser session."""
        with self._cond:
            self._next_ticket += 1
            ticket = self._next_ticket
            me = _Waiter(ticket, on_position, owner)
            self._waiting.append(me)
            self._announce()
            try:
                while True:
                    if should_stop():
                        return None
                    if self._next() is me:
                        self._running[ticket] = owner
                        self._served[owner] = ticket
                        on_position(None)
                        return ticket
                    self._cond.wait(poll)
            finally:
                self._waiting = [w for w in self._waiting if w is not me]
                self._announce()
                self._cond.notify_all()

    def release(self, ticket: int) -> None:
        """Give back a slot acquire() handed out."""
        with self._cond:
            self._running.pop(ticket, None)
            self._cond.notify_all()


@dataclass
class CachedResult:
    """A finished run that an identical request may reuse: the model is shared, read-only."""

    model: Any
    history: list[dict[str, float]]
    batches: list[dict[str, float]]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    strategy: str | None = None  # how it was trained, for the reusing run's info
    device_count: int = 0


# What one kept batch point costs in a list of dicts (measured ~0.5 KB in CPython 3.11).
BATCH_POINT_BYTES = 512


def result_bytes(result: CachedResult) -> int:
    """Roughly what a cached result keeps alive: its weights and its batch history."""
    count = getattr(result.model, "count_params", None)
    weights = 4 * int(count()) if callable(count) else 0
    return weights + BATCH_POINT_BYTES * len(result.batches)


class ResultCache(ByteLRU[CachedResult]):
    """An LRU map from run fingerprint to CachedResult, safe across threads, bounded by
    count (CNNLAB_CACHE_SIZE) and by the bytes its results hold (CNNLAB_CACHE_MB)."""

    def __init__(self, max_entries: int | None = None, max_bytes: int | None = None) -> None:
        super().__init__(
            max_bytes or _env_int("CNNLAB_CACHE_MB", 256) * 1024 * 1024,
            result_bytes,
            max_entries or _env_int("CNNLAB_CACHE_SIZE", 16),
        )


def run_fingerprint(
    spec_dict: dict[str, Any],
    dataset_fingerprint: str,
    settings: dict,
    devices: str | None = None,
) -> str:
    """Digest of what determines a run's result: architecture, data, settings and seed.

    The spec's name and description do not change the result, so they are left out.
    `devices` names a multi-device setup (several replicas give slightly different
    weights: per-replica batch-norm statistics, another summation order); None for one
    device keeps the digest exactly what it was before multi-device training existed.
    """
    arch = {k: v for k, v in spec_dict.items() if k not in ("name", "description")}
    content: dict[str, Any] = {"spec": arch, "data": dataset_fingerprint, "settings": settings}
    if devices is not None:
        content["devices"] = devices
    payload = json.dumps(content, sort_keys=True)
    return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()
