"""The server's memory budget: what the whole process will take on, estimated before
anything is allocated.

Every action that can allocate a lot (training, loading a model file, decoding an
upload, generating a dataset, preparing images for Classify) asks `BUDGET` first,
with its own estimate from headers and declared shapes. A request that could never
fit is refused with how much is allowed and what to change; one that does not fit
*now*, because other learners' work holds the memory, is refused with "try again".

The ledger is an estimate, not a measurement: the runtime (TensorFlow, Streamlit)
counts as a fixed `RUNTIME_BYTES`, and each holding stays booked until its owner
releases it or is garbage-collected. One setting, CNNLAB_MEMORY_BUDGET_MB, bounds it
all; its default fits Streamlit Community Cloud (~2.7 GB for the whole app).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass

from dashboard.data.limits import MB, DataError, human_bytes

BUDGET_ENV = "CNNLAB_MEMORY_BUDGET_MB"
DEFAULT_BUDGET_MB = 2048  # Cloud's ~2.7 GB less room for the OS and Python's own slack
# TensorFlow, Keras and Streamlit once imported (measured ~0.6-0.7 GB resident).
RUNTIME_BYTES = 700 * MB


class BudgetError(DataError):
    """An action refused because it would not fit the server's memory budget."""


def budget_from_env() -> int:
    """CNNLAB_MEMORY_BUDGET_MB in bytes (the default when unset or not a number)."""
    try:
        mb = int(os.environ.get(BUDGET_ENV, DEFAULT_BUDGET_MB))
    except ValueError:
        mb = DEFAULT_BUDGET_MB
    return max(mb, 1) * MB


@dataclass(eq=False)
class Holding:
    """Memory booked for one piece of work until `release()` (safe to call twice)."""

    budget: MemoryBudget
    nbytes: int
    what: str
    key: int = 0

    def release(self) -> None:
        self.budget._release(self.key)


class MemoryBudget:
    """A thread-safe ledger of booked memory against one total."""

    def __init__(self, total_bytes: int | None = None, runtime_bytes: int = RUNTIME_BYTES) -> None:
        self.total = budget_from_env() if total_bytes is None else int(total_bytes)
        self.runtime = runtime_bytes
        self._lock = threading.Lock()
        self._held: dict[int, Holding] = {}
        self._keys = itertools.count(1)

    @property
    def per_task(self) -> int:
        """The most any one action may book: the budget less the runtime."""
        return max(0, self.total - self.runtime)

    def booked(self) -> int:
        with self._lock:
            return sum(h.nbytes for h in self._held.values())

    def free(self) -> int:
        return max(0, self.per_task - self.booked())

    def verdict(self, nbytes: int, what: str, fix: str) -> str | None:
        """The sentence that would refuse `what` needing `nbytes` now, or None if it fits.

        `fix` is what the user can change, e.g. "use a smaller batch size".
        """
        if nbytes > self.per_task:
            return (
                f"{what} needs about {human_bytes(nbytes)} of memory, more than the "
                f"{human_bytes(self.per_task)} this server allows one task (over by "
                f"{human_bytes(nbytes - self.per_task)}); {fix}."
            )
        free = self.free()
        if nbytes > free:
            return (
                f"{what} needs about {human_bytes(nbytes)} of memory, but only "
                f"{human_bytes(free)} of this server's budget is free while other work runs; "
                f"try again when a run has finished, or {fix}."
            )
        return None

    def check(self, nbytes: int, what: str, fix: str) -> None:
        """Raise BudgetError with the verdict when `nbytes` does not fit now."""
        message = self.verdict(nbytes, what, fix)
        if message:
            raise BudgetError(message)

    def hold(self, nbytes: int, what: str, fix: str) -> Holding:
        """Book `nbytes` (BudgetError if it does not fit); release the Holding when done."""
        nbytes = max(0, int(nbytes))
        with self._lock:
            booked = sum(h.nbytes for h in self._held.values())
            if nbytes > self.per_task or booked + nbytes > self.per_task:
                message = None  # composed outside the lock (verdict takes it again)
            else:
                holding = Holding(self, nbytes, what, next(self._keys))
                self._held[holding.key] = holding
                return holding
        raise BudgetError(message or self.verdict(nbytes, what, fix) or f"{what} does not fit.")

    def hold_for(self, owner: object, nbytes: int, what: str, fix: str) -> Holding:
        """Book `nbytes` for as long as `owner` lives (e.g. an uploaded dataset)."""
        holding = self.hold(nbytes, what, fix)
        weakref.finalize(owner, holding.release)
        return holding

    @contextlib.contextmanager
    def reserve(self, nbytes: int, what: str, fix: str) -> Iterator[Holding]:
        """Book `nbytes` for the duration of a `with` block (decoding, loading)."""
        holding = self.hold(nbytes, what, fix)
        try:
            yield holding
        finally:
            holding.release()

    def _release(self, key: int) -> None:
        with self._lock:
            self._held.pop(key, None)


# The process's one budget, shared by every browser session.
BUDGET = MemoryBudget()
