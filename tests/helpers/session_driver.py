"""Drive the live app like a workshop: browser sessions that train, and the server's RSS.

Shared by tests/browser/test_memory_browser.py and bench/workshop.py. Not a test module itself.
"""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path

RUN_HEADING = re.compile(r"Run ([0-9a-f]{6}): (queued|training|done|stopped|failed)")


def rss_mb(pid: int) -> float:
    """Resident memory of process `pid` in MiB, from /proc (Linux only)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024  # the kernel reports kB
    raise RuntimeError(f"no VmRSS for process {pid}")


def rss_supported() -> bool:
    return sys.platform.startswith("linux") and Path("/proc/self/status").is_file()


class PeakRss:
    """Samples a process's RSS in a background thread; `peak` is the highest seen."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = rss_mb(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except (OSError, RuntimeError):  # the process ended
                return

    def reset(self) -> float:
        """Start a new peak from the current RSS; returns it."""
        self.peak = rss_mb(self.pid)
        return self.peak

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def start_training(
    page, url: str, seed: int, epochs: int = 1, query: str = "", navigate: bool = True
) -> str:
    """On the Train page of `page`'s session: digits 8×8, `epochs`, `seed`; press Start.
    `query` (e.g. "session=<token>") keeps a session's runs across the navigation.
    navigate=False: the page is on Train already (opened in-app, which keeps the
    session's model). Returns the new run's id once the page shows its heading."""
    if navigate:
        page.goto(f"{url}/train" + (f"?{query}" if query else ""))
    start = page.get_by_role("button", name="Start training")
    start.wait_for(timeout=180_000)
    for label, value in (("Epochs", epochs), ("Seed", seed)):
        box = page.get_by_label(label, exact=True)
        box.fill(str(value))
        box.press("Tab")  # commit the value
    start.click()
    heading = page.get_by_text(RUN_HEADING).first
    heading.wait_for(timeout=180_000)
    match = RUN_HEADING.search(heading.inner_text())
    assert match, heading.inner_text()
    return match.group(1)


def wait_for_run(page, run_id: str, status: str = "done", timeout_ms: int = 300_000) -> None:
    """Wait until the page shows the run as `status` (the fragment polls every second)."""
    page.get_by_text(f"Run {run_id}: {status}").wait_for(timeout=timeout_ms)
