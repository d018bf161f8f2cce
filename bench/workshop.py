"""A workshop on one server: 20 Chromium sessions on loopback, all at once-ish.

Each session opens every page (timed: navigation until the page's title shows).
Sessions 0-4 train five different specs (the default preset with 8..24 filters in
its first convolution, 3 epochs) and report the deepest queue place they saw;
sessions 5-14 train the same default preset (1 epoch, seed 0): the process-wide
cache must train it once; sessions 15-19 only browse. A real training shows as
"done" in the session's runs table, a reused one as "done (reused)". At the end
every session reloads its Train page: its runs table must list exactly its own
run ids and no other session's.

Needs Linux (/proc for RSS) and Chromium. Run: python bench/workshop.py
Last line: sessions_ok=<n>/20 trainings=<n> peak_rss_mb=<n> leaks=<n>
"""

from __future__ import annotations

import queue
import re
import statistics
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "helpers")]

from conftest import (  # noqa: E402
    chromium_launch_options,
    start_app_server,
    stop_app_server,
)
from playwright.sync_api import sync_playwright  # noqa: E402
from session_driver import PeakRss, start_training, wait_for_run  # noqa: E402

from dashboard.model.presets import load_preset  # noqa: E402
from dashboard.model.share_links import spec_to_link_param  # noqa: E402

SESSIONS = 20
WORKERS = 4  # Chromium instances driving sessions in parallel on 2 cores
PAGES = [("", "CNN Lab"), ("data", "Data"), ("build", "Build a CNN"), ("train", "Train"),
         ("evaluate", "Evaluate"), ("convolution", "Convolution and pooling"),
         ("classify", "Classify")]  # fmt: skip
ROWS = "() => [...document.querySelectorAll('[data-testid=stDataFrame] [role=row]')].map(r => r.textContent)"
QUEUE_TEXT = re.compile(r"number (\d+) in the queue")


@dataclass
class Session:
    index: int
    role: str  # "different", "same" or "browse"
    load_times: list[float] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    max_queue_place: int = 0
    seen_foreign: list[str] = field(default_factory=list)
    error: str | None = None


def role(index: int) -> str:
    return "different" if index < 5 else "same" if index < 15 else "browse"


def different_spec_link(index: int) -> str:
    spec = load_preset("default")
    spec.name = f"workshop-{index}"
    spec.layers[0].params["filters"] = 8 + 4 * index
    return spec_to_link_param(spec)


def open_page(page, url: str, path: str, title: str, token: str | None, s: Session) -> None:
    query = f"?session={token}" if token else ""
    t0 = time.perf_counter()
    page.goto(f"{url}/{path}{query}")
    page.locator("[data-testid=stMain] h1", has_text=title).first.wait_for(timeout=180_000)
    s.load_times.append(time.perf_counter() - t0)


def session_token(page) -> str:
    page.wait_for_url(re.compile(r"session="), timeout=60_000)
    return re.search(r"session=([A-Za-z0-9_-]+)", page.url).group(1)


def drive(browser, url: str, s: Session) -> None:
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    try:
        open_page(page, url, "", "CNN Lab", None, s)
        token = session_token(page)
        for path, title in PAGES[1:]:
            open_page(page, url, path, title, token, s)
        if s.role == "different":
            page.goto(f"{url}/build?spec={different_spec_link(s.index)}&session={token}")
            page.get_by_text("Opened the model from the shared link").first.wait_for(
                timeout=180_000
            )
            # In-app navigation keeps this Streamlit session, and so the linked model.
            page.locator("[data-testid=stSidebarNav] a", has_text="Train").first.click()
            page.locator("[data-testid=stMain] h1", has_text="Train").wait_for(timeout=180_000)
            run_id = start_training(page, url, seed=0, epochs=3, navigate=False)
            while True:  # watch the queue until the run trains
                text = page.locator("[data-testid=stMain]").inner_text()
                places = [int(n) for n in QUEUE_TEXT.findall(text)]
                s.max_queue_place = max([s.max_queue_place, *places])
                if f"Run {run_id}: queued" not in text:
                    break
                time.sleep(0.3)
            wait_for_run(page, run_id)
            s.run_ids.append(run_id)
        elif s.role == "same":
            run_id = start_training(page, url, seed=0, epochs=1, query=f"session={token}")
            wait_for_run(page, run_id)
            s.run_ids.append(run_id)
        # Reload Train: the runs table must hold this session's runs and nothing else.
        open_page(page, url, "train", "Train", token, s)
        if s.run_ids:
            page.wait_for_function(f"({ROWS})().length >= {len(s.run_ids) + 1}", timeout=60_000)
            rows = page.evaluate(ROWS)[1:]
        else:
            page.get_by_text("Runs you start are listed here").wait_for(timeout=60_000)
            rows = []
        s.statuses = ["done (reused)" if "reused" in r else "done" for r in rows if "done" in r]
        ids = {m for r in rows for m in re.findall(r"\b[0-9a-f]{6}\b", r)}
        s.seen_foreign = sorted(ids - set(s.run_ids))
        if len(rows) != len(s.run_ids):
            s.error = f"runs table has {len(rows)} rows for {len(s.run_ids)} runs"
    except Exception as exc:
        s.error = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        traceback.print_exc()
    finally:
        context.close()


def worker(url: str, todo: queue.Queue, done: list[Session]) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(**chromium_launch_options())
        while True:
            try:
                s = todo.get_nowait()
            except queue.Empty:
                break
            drive(browser, url, s)
            done.append(s)
            print(f"session {s.index:2d} {s.role:9s} runs={s.run_ids} error={s.error}", flush=True)
        browser.close()


def main() -> None:
    proc, url = start_app_server()
    sessions = [Session(i, role(i)) for i in range(SESSIONS)]
    todo: queue.Queue = queue.Queue()
    for s in sessions:
        todo.put(s)
    done: list[Session] = []
    try:
        with PeakRss(proc.pid, interval=0.2) as peak:
            threads = [
                threading.Thread(target=worker, args=(url, todo, done)) for _ in range(WORKERS)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        stop_app_server(proc)

    loads = sorted(t for s in done for t in s.load_times)
    p50 = statistics.median(loads) if loads else float("nan")
    p95 = loads[min(len(loads) - 1, int(0.95 * len(loads)))] if loads else float("nan")
    trainings = sum(st == "done" for s in done for st in s.statuses)
    same = [s for s in done if s.role == "same"]
    same_trained = sum(st == "done" for s in same for st in s.statuses)
    queue_places = [s.max_queue_place for s in done if s.role == "different"]
    leaks = sum(len(s.seen_foreign) for s in done)
    ok = sum(s.error is None and not s.seen_foreign for s in done)
    print(f"page loads: {len(loads)}, p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
    print(f"same preset: {len(same)} sessions, {same_trained} real training(s), the rest reused")
    print(f"different specs: deepest queue places seen {queue_places} (limit = CPU cores)")
    print(f"real trainings in all: {trainings}; peak server RSS {peak.peak:.0f} MB")
    print(f"sessions that saw another session's run: {sum(bool(s.seen_foreign) for s in done)}")
    print(
        f"sessions_ok={ok}/{SESSIONS} trainings={trainings} "
        f"peak_rss_mb={peak.peak:.0f} leaks={leaks}"
    )


if __name__ == "__main__":
    main()
