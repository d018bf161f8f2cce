"""Hostile inputs against a live server: does it survive, stay inside its memory, and
answer each one with a sentence?

Starts `streamlit run` on a free loopback port and drives Chromium through inputs of
our own making (tests/helpers/hostile_files.py): files small on the wire but heavy once read,
and legal-but-huge choices in the widgets. The server's RSS is sampled throughout.
A case survives when the page shows its sentence and the server still answers its
health check afterwards.

Needs Linux (/proc for RSS) and Chromium. Run: python bench/abuse.py
Last line: survived=<n>/<n> peak_rss_mb=<m>   (target: all, and at most 2048)
"""

from __future__ import annotations

import sys
import tempfile
import time
import traceback
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "helpers")]

import hostile_files as hostile  # noqa: E402
from conftest import chromium_launch_options, start_app_server, stop_app_server  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from session_driver import PeakRss  # noqa: E402

TIMEOUT_MS = 180_000
FOLDER = Path(tempfile.mkdtemp(prefix="cnnlab-abuse-"))


def shows(page, text: str) -> None:
    page.get_by_text(text).first.wait_for(timeout=TIMEOUT_MS)


def as_file(name: str, data: bytes) -> Path:
    """The bytes as a file to upload (the way a learner's browser sends one)."""
    path = FOLDER / name
    path.write_bytes(data)
    return path


def open_in_app(page, url: str, name: str) -> None:
    """Home, then the page's menu link (a deep link's first run may rerun the page and
    drop what was chosen in it)."""
    page.goto(url)
    page.get_by_role("link", name=name).first.click()


def upload_dataset(page, url: str, name: str, data: bytes, size: str | None = None) -> None:
    open_in_app(page, url, "Data")
    shows(page, "Current dataset:")
    page.get_by_role("tab", name="Upload your own").click()
    page.get_by_role("button", name="Use this upload").wait_for(timeout=TIMEOUT_MS)
    if size is not None:
        page.get_by_role("combobox", name="Image size").click()
        page.get_by_role("option", name=size).click()
    page.locator("input[type=file]").set_input_files(str(as_file(name, data)))
    page.get_by_role("button", name="Use this upload").click()  # waits until enabled


def upload_model(page, url: str, name: str, data: bytes) -> None:
    open_in_app(page, url, "Classify")
    shows(page, "Upload one or more images to classify.")
    main = page.get_by_test_id("stMainBlockContainer")
    main.get_by_role("combobox", name="Model").click()
    page.get_by_role("option", name="Upload a .keras model").click()
    uploader = page.get_by_test_id("stFileUploader").filter(has_text="Keras model file")
    uploader.locator("input[type=file]").set_input_files(str(as_file(name, data)))


# Each case: (name, what it does to the page, the sentence it must get back).
def build_link(link: str) -> Callable:
    return lambda page, url: page.goto(f"{url}/build?spec={link}")


def train_huge(page, url: str) -> None:
    page.goto(f"{url}/build?spec={hostile.huge_spec_link()}")
    shows(page, "parameters; a model may have at most")
    page.get_by_role("link", name="Train").first.click()  # in-app: keeps the session's model
    page.get_by_role("button", name="Start training").click()


def flat_photos(page, url: str) -> None:
    open_in_app(page, url, "Classify")
    shows(page, "Upload one or more images to classify.")
    photo = hostile.flat_photo_png(5000)
    page.locator("input[type=file]").first.set_input_files(
        files=[
            {"name": f"flat{i}.png", "mimeType": "image/png", "buffer": photo} for i in range(12)
        ]
    )


CASES: list[tuple[str, Callable, str]] = [
    ("link with 40,000 layers", build_link(hostile.many_layers_link()), "unpacks to more than"),
    ("6.6 G-parameter model on Build", build_link(hostile.huge_spec_link()),
     "parameters; a model may have at most"),
    ("Start on that model", train_huge, "parameters; a model may"),
    ("zip lying about its sizes", lambda p, u: upload_dataset(p, u, "liar.zip", hostile.lying_zip()),
     "its directory declares"),
    ("65 MB member in 65 KB", lambda p, u: upload_dataset(p, u, "big.zip", hostile.big_member_zip()),
     "one file may be at most"),
    ("11,000 dots at 128×128",
     lambda p, u: upload_dataset(p, u, "dots.zip", hostile.dots_zip(), size="128×128"),
     "would take"),
    (".npz header lying about its shape",
     lambda p, u: upload_dataset(p, u, "liar.npz", hostile.lying_npz()), "declares 610 MB but holds"),
    (".keras declaring 300 G weights",
     lambda p, u: upload_model(p, u, "bomb.keras", hostile.bomb_keras()), "weights; models here"),
    (".keras taking 20000×20000 images",
     lambda p, u: upload_model(p, u, "wide.keras", hostile.wide_keras()), "CNN Lab prepares images"),
    (".keras with a 2 MB config",
     lambda p, u: upload_model(p, u, "padded.keras", hostile.padded_config_keras()),
     "far more than a model's description needs"),
    ("12 flat 5000×5000 photos to Classify", flat_photos, "Prediction:"),
]  # fmt: skip


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=30) as response:
            return response.status == 200
    except OSError:
        return False


def foreign_token(browser, url: str) -> bool:
    """A link with another browser's ?session= token must open a new session."""
    owner = browser.new_context()
    stranger = browser.new_context()
    try:
        page = owner.new_page()
        page.goto(f"{url}/train")
        page.get_by_role("button", name="Start training").wait_for(timeout=TIMEOUT_MS)
        page.wait_for_url("**session=*", timeout=TIMEOUT_MS)
        other = stranger.new_page()
        other.goto(page.url)
        other.get_by_role("button", name="Start training").wait_for(timeout=TIMEOUT_MS)
        deadline = time.monotonic() + 30
        while other.url == page.url and time.monotonic() < deadline:
            time.sleep(0.2)
        return other.url != page.url and "session=" in other.url
    finally:
        owner.close()
        stranger.close()


def main() -> None:
    proc, url = start_app_server()
    survived = 0
    total = len(CASES) + 1
    try:
        with PeakRss(proc.pid) as rss, sync_playwright() as pw:
            browser = pw.chromium.launch(**chromium_launch_options())
            for name, act, sentence in CASES:
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                t0 = time.perf_counter()
                answered = False
                try:
                    act(page, url)
                    shows(page, sentence)
                    answered = True
                except Exception:
                    traceback.print_exc(limit=1)
                finally:
                    context.close()
                alive = proc.poll() is None and healthy(url)
                survived += answered and alive
                print(
                    f"{name}: {'answered' if answered else 'NO SENTENCE'}, server "
                    f"{'alive' if alive else 'DOWN'}, {time.perf_counter() - t0:.1f} s, "
                    f"peak so far {rss.peak:.0f} MB",
                    flush=True,
                )
                if not alive:
                    break
            ok = proc.poll() is None and foreign_token(browser, url)
            survived += ok
            print(f"foreign session link: {'new session' if ok else 'SESSION HANDED OVER'}")
            browser.close()
            peak = rss.peak
    finally:
        stop_app_server(proc)
    print(f"survived={survived}/{total} peak_rss_mb={peak:.0f}")


if __name__ == "__main__":
    main()
