"""A least-recently-used map bounded by the bytes its values hold, not by their count.

Process-wide caches (built-in datasets, finished runs' results) serve every browser
session; bounded by count, four cached datasets could hold 2 GB. Pure Python.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class ByteLRU(Generic[V]):
    """Thread-safe LRU that evicts the oldest entries once their sizes pass `max_bytes`
    (or their count passes `max_entries`).

    The newest entry always stays, even alone over the bound: it was just made and is
    about to be used, and dropping it would only make the next call build it again.
    """

    def __init__(
        self, max_bytes: int, size_of: Callable[[V], int], max_entries: int | None = None
    ) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self._size_of = size_of
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: Hashable, value: V) -> None:
        size = max(0, int(self._size_of(value)))
        with self._lock:
            self._items[key] = (value, size)
            self._items.move_to_end(key)
            while len(self._items) > 1 and (
                self._total() > self.max_bytes
                or (self.max_entries is not None and len(self._items) > self.max_entries)
            ):
                self._items.popitem(last=False)

    def _total(self) -> int:
        return sum(size for _, size in self._items.values())

    def nbytes(self) -> int:
        with self._lock:
            return self._total()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items
