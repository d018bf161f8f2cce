"""Shared test fixtures: the real data in ../shared/data, a live app server, a browser.

On a user's clone there is no ../shared and maybe no Chromium: tests that need
them skip with a reason. `.ci/run` sets CNNLAB_NO_SKIP=1, which turns every
skip into a failure, so CI cannot go green by skipping.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
ARTIFACTS = ROOT / "artifacts"
NO_SKIP = os.environ.get("CNNLAB_NO_SKIP") == "1"

# Point the app's local-data lookup at the real MNIST / CIFAR-10 files, never copying them.
if SHARED_DATA.is_dir():
    os.environ.setdefault("CNNLAB_DATA_DIR", str(SHARED_DATA))
# Tests must never wait on a network that is not there.
os.environ.setdefault("CNNLAB_DOWNLOAD_TIMEOUT", "5")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if NO_SKIP and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"CNNLAB_NO_SKIP=1 forbids skips: {reason}"


def shown_image_captions(at) -> list[list[str]]:
    """The captions of each group of pictures an AppTest page shows (one list per
    `inline_images.grid_html` element, in page order)."""
    from dashboard.ui.inline_images import FIGURE_CLASS, captions_in

    return [captions_in(e.value) for e in at.get("html") if FIGURE_CLASS in e.value]


def shared_file(name: str) -> Path:
    """A file of ../shared/data, or skip (a failure under CI) with the reason."""
    path = SHARED_DATA / name
    if not path.is_file():
        pytest.skip(f"{path} is missing: this test needs the real data of ../shared/data")
    return path


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    return shared_file("mnist.npz")


@pytest.fixture(scope="session")
def cifar_path() -> Path:
    return shared_file("cifar10_subset.npz")


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where browser tests keep their screenshots (ignored by git)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def reload_tab(at, page: str, timeout: float = 120, same_browser: bool = True):
    """What F5 does to the tab behind AppTest `at`: a new Streamlit session of `page`
    whose URL carries the same session token. AppTest sends no cookies, so the browser
    cookie the first session set is handed over here (same_browser=False: a stranger's
    browser opening the same link)."""
    from unittest import mock

    from streamlit.testing.v1 import AppTest

    from dashboard.ui import tab_session

    token = at.query_params["session"]
    reloaded = AppTest.from_file(page, default_timeout=timeout)
    reloaded.query_params["session"] = token[0] if isinstance(token, list) else token
    cookie = at.session_state[tab_session.BROWSER_KEY] if same_browser else None
    with mock.patch.object(tab_session, "browser_cookie", return_value=cookie):
        return reloaded.run()


# --- live server and browser -------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float = 120) -> None:
    """Poll `predicate` until it is true (a background run got somewhere)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.05)


def wait_for_health(url: str, timeout: float = 120.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"streamlit exited with code {proc.returncode} before it was healthy"
            )
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not become healthy in {timeout:.0f} s")


def start_app_server(
    extra_env: dict[str, str] | None = None, script: str | Path = "streamlit_app.py"
) -> tuple[subprocess.Popen, str]:
    """Start `streamlit run <script>` (the app by default) on a free loopback port;
    return (process, url). Its output goes to artifacts/server-<port>.log."""
    port = free_port()
    env = {**os.environ, **(extra_env or {})}
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    # Benchmarks start servers too, outside pytest's artifacts_dir fixture.
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / f"server-{port}.log", "w")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, proc=proc)
    except Exception:
        proc.kill()
        raise
    return proc, url


def stop_app_server(proc: subprocess.Popen) -> None:
    """Ask the server to exit; kill it if it has not within 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def app_url(artifacts_dir: Path) -> Iterator[str]:
    """One app server shared by the browser tests of a session."""
    proc, url = start_app_server()
    yield url
    stop_app_server(proc)


def chromium_launch_options() -> dict:
    """Debian's Chromium where it is installed, else Playwright's own download."""
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
    system = shutil.which("chromium") or "/usr/bin/chromium"
    if Path(system).exists():
        return {"executable_path": system, "args": args, "headless": True}
    return {"args": args, "headless": True}


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(**chromium_launch_options())
        except Exception as exc:  # no system Chromium and no `playwright install chromium`
            pytest.skip(f"no Chromium to drive: {exc}".splitlines()[0])
        yield browser
        browser.close()


# On a deep link such as /build, Streamlit's frontend first probes /build/_stcore/...
# to find the server's base path; those 404s are its own discovery, not errors.
BASE_PATH_PROBE = re.compile(r"/[^/]+/_stcore/(health|host-config)$")


def record_browser_errors(pg) -> list[str]:
    """Collect console errors, page exceptions and failed requests (with URLs) of a page."""
    errors: list[str] = []

    def on_console(msg) -> None:
        # Failed loads are reported below with their URL, which this text lacks.
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            errors.append(msg.text)

    def on_response(resp) -> None:
        if resp.status >= 400 and not BASE_PATH_PROBE.search(resp.url):
            errors.append(f"HTTP {resp.status} {resp.url}")

    pg.on("console", on_console)
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("response", on_response)

    def on_failed(req) -> None:
        # ERR_ABORTED is a request the page itself cancelled, e.g. by reloading.
        if req.failure != "net::ERR_ABORTED":
            errors.append(f"{req.failure} {req.url}")

    pg.on("requestfailed", on_failed)
    return errors


# Each rerun drops the media files of the run before, so a request the browser still has
# in flight for a superseded image gets a 404 (Streamlit's media manager; a race that
# loaded machines lose). The user never sees those images; `page_errors` checks instead
# that every image still on the page has loaded.
SUPERSEDED_MEDIA = re.compile(r"HTTP 404 \S*/media/")


def page_errors(page) -> list[str]:
    """What went wrong in the browser that a user could meet: console errors, page
    exceptions, failed requests (other than superseded media) and images on the page
    that did not load."""
    page.wait_for_function("[...document.images].every(i => i.complete)", timeout=60_000)
    broken = page.evaluate(
        "[...document.images].filter(i => i.naturalWidth === 0).map(i => i.src.slice(0, 80))"
    )
    errors = [e for e in page.console_errors if not SUPERSEDED_MEDIA.match(e)]
    return errors + [f"image did not load: {src}" for src in broken]


@pytest.fixture
def page(browser, artifacts_dir: Path):
    """A fresh browser context (its own Streamlit session) that records errors."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.console_errors = record_browser_errors(pg)
    yield pg
    context.close()
