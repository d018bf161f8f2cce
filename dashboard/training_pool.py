"""Process-wide pieces shared by every session's runs: the concurrency queue and the
result cache. Pure Python (no TensorFlow), so both are testable on their own.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def _env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


class TrainingQueue:
    """A fair (first come, first served) limit on concurrent trainings.

    A waiting run learns its 1-based place through `on_position`, so the page can
    say "2nd in the queue". `acquire` gives up when `should_stop()` turns true.
    """

    def __init__(self, limit: int | None = None) -> None:
        self._cond = threading.Condition()
        self._limit = limit or _env_int("CNNLAB_MAX_CONCURRENT_RUNS", os.cpu_count() or 1)
        self._running: set[int] = set()
        self._waiting: list[tuple[int, Callable[[int | None], None]]] = []
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

    def _announce(self) -> None:
        for place, (_, on_position) in enumerate(self._waiting, start=1):
            on_position(place)

    def acquire(
        self,
        on_position: Callable[[int | None], None],
        should_stop: Callable[[], bool],
        poll: float = 0.1,
    ) -> int | None:
        """Wait for a free slot: a ticket for release() once it is ours, None if
        `should_stop()` turned true while waiting."""
        with self._cond:
            self._next_ticket += 1
            ticket = self._next_ticket
            self._waiting.append((ticket, on_position))
            self._announce()
            try:
                while True:
                    if should_stop():
                        return None
                    if self._waiting[0][0] == ticket and len(self._running) < self._limit:
                        self._running.add(ticket)
                        on_position(None)
                        return ticket
                    self._cond.wait(poll)
            finally:
                self._waiting = [w for w in self._waiting if w[0] != ticket]
                self._announce()
                self._cond.notify_all()

    def release(self, ticket: int) -> None:
        """Give back a slot acquire() handed out."""
        with self._cond:
            self._running.discard(ticket)
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


class ResultCache:
    """A bounded LRU map from run fingerprint to CachedResult, safe across threads."""

    def __init__(self, max_entries: int | None = None) -> None:
        self.max_entries = max_entries or _env_int("CNNLAB_CACHE_SIZE", 16)
        self._lock = threading.Lock()
        self._items: OrderedDict[str, CachedResult] = OrderedDict()

    def get(self, key: str) -> CachedResult | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: str, result: CachedResult) -> None:
        with self._lock:
            self._items[key] = result
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._items


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
