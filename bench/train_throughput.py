"""Training speed through the real app against bare model.fit, and the server's peak memory.

1. Starts `streamlit run streamlit_app.py` with CNNLAB_DATA_DIR pointing at the real
   MNIST, opens the Train page in Chromium, picks mnist, sets 2 epochs, presses Start,
   and leaves the page open (it polls every second) until the run is done.
2. Downloads the run's history CSV as a user would and takes epoch 2's images/s.
3. Reads the server's peak RSS (VmHWM) while it trained.
4. Trains the same Keras model on the same data, split and batch size with bare
   `model.fit(verbose=0)` for 2 epochs and takes epoch 2's images/s the same way
   (training images over the training part of the epoch, from its first batch),
   in a fresh process before and after the app; the ratio uses their mean.
5. Does this BENCH_ROUNDS times (default 5) and reports the median ratio and the
   highest peak RSS: on a shared machine one round's ratio varied from 0.82 to 1.10.

Targets: ratio >= 0.95, peak RSS <= 1.0 GB. Last line: ratio=<n> peak_rss_mb=<n>
"""

from __future__ import annotations

import csv
import io
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "helpers")]
DATA_DIR = Path(os.environ.get("CNNLAB_DATA_DIR", ROOT.parent / "shared" / "data"))
os.environ["CNNLAB_DATA_DIR"] = str(DATA_DIR)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
EPOCHS = 2
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a process so far (Linux VmHWM)."""
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", text).group(1)) / 1024


def train_in_app() -> tuple[float, float, str]:
    """Epoch 2's images/s of a run started from the Train page, the server's peak RSS,
    and the history CSV."""
    from conftest import chromium_launch_options, start_app_server, stop_app_server
    from playwright.sync_api import sync_playwright

    from dashboard.data.builtins import load_builtin

    mnist = load_builtin("mnist")
    # The page's caption once MNIST is picked; the shared file's test split is smaller
    # than Keras's 10,000, so take both counts from the file itself.
    caption = f"{len(mnist.x_train):,} training and {len(mnist.x_test):,} test images"
    del mnist
    proc, url = start_app_server()  # it inherits CNNLAB_DATA_DIR
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(**chromium_launch_options())
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/train")
            start = page.get_by_role("button", name="Start training")
            start.wait_for(timeout=180_000)
            page.get_by_role("combobox", name="Dataset").click()
            page.get_by_role("option", name="MNIST (on disk)").click()
            page.get_by_text(caption).wait_for(timeout=180_000)
            epochs = page.get_by_label("Epochs", exact=True)
            epochs.fill(str(EPOCHS))
            epochs.press("Tab")  # commit the value
            start.click()
            heading = page.get_by_text(re.compile(r"Run [0-9a-f]{6}: (queued|training)")).first
            heading.wait_for(timeout=180_000)
            run_id = re.search(r"Run ([0-9a-f]{6})", heading.inner_text()).group(1)
            print(f"run {run_id} training in the app, page open and polling", file=sys.stderr)
            page.get_by_text(f"Run {run_id}: done").wait_for(timeout=1_800_000)
            peak = peak_rss_mb(proc.pid)
            with page.expect_download() as download:
                page.get_by_role("button", name="History (CSV)").click()
            history = Path(download.value.path()).read_text()
            browser.close()
    finally:
        stop_app_server(proc)
    rows = list(csv.DictReader(io.StringIO(history)))
    return float(rows[EPOCHS - 1]["images_per_s"]), peak, history


def train_bare() -> float:
    """Epoch 2's images/s of bare model.fit on the same model, data, split and batch."""
    import keras
    import numpy as np

    from dashboard import training
    from dashboard.data.builtins import load_builtin
    from dashboard.model.keras_model import build_model
    from dashboard.model.presets import load_preset
    from dashboard.training import TrainSettings

    settings = TrainSettings(epochs=EPOCHS)
    dataset = load_builtin("mnist")
    spec, _ = training.fit_spec_to_dataset(load_preset("default"), dataset)
    rng = np.random.default_rng(settings.seed)
    order = rng.permutation(len(dataset.x_train))
    n_val = round(len(order) * settings.validation_split)
    train_idx, val_idx = np.sort(order[n_val:]), np.sort(order[:n_val])
    x = dataset.x_train.astype(np.float32) / 255.0
    y = dataset.y_train
    model = build_model(spec, settings.seed)
    steps = -(-len(train_idx) // settings.batch_size)
    training.compile_model(model, spec, training.make_optimizer(settings, steps * EPOCHS))

    class Timer(keras.callbacks.Callback):
        """Epoch time from its first batch, not from on_epoch_begin: in between, Keras
        replaces the epoch's data iterator, and deleting the old one waits for
        tf.data's autotuning thread to wake (up to ~10 s in epoch 2 on TF 2.21).
        That stall is Keras's, not training speed; the app's pipeline avoids it."""

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_begin, self.begin, self.train_end = time.perf_counter(), None, None

        def on_train_batch_begin(self, batch, logs=None):
            self.begin = self.begin or time.perf_counter()

        def on_test_begin(self, logs=None):
            self.train_end = self.train_end or time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            end = self.train_end or time.perf_counter()
            self.rates.append(len(train_idx) / (end - self.begin))
            self.stalls.append(self.begin - self.epoch_begin)

    timer = Timer()
    timer.rates, timer.stalls = [], []
    model.fit(
        x[train_idx], y[train_idx], batch_size=settings.batch_size, epochs=EPOCHS,
        validation_data=(x[val_idx], y[val_idx]), callbacks=[timer], verbose=0,
    )  # fmt: skip
    stall = timer.stalls[EPOCHS - 1]
    if stall > 0.5:
        print(f"bare model.fit: epoch {EPOCHS} waited {stall:.1f} s for Keras's data iterator "
              "before its first batch (left out of its images/s)")  # fmt: skip
    return timer.rates[EPOCHS - 1]


def bare_in_subprocess() -> float:
    """train_bare() in a fresh process, as the app's server is one."""
    out = subprocess.run(
        [sys.executable, __file__, "--bare"], capture_output=True, text=True, check=True
    ).stdout
    for line in out.splitlines()[:-1]:
        print(line)
    return float(out.splitlines()[-1])


def main() -> None:
    if "--bare" in sys.argv:
        print(train_bare())
        return
    if not (DATA_DIR / "mnist.npz").is_file():
        sys.exit(f"{DATA_DIR / 'mnist.npz'} is missing")
    # A shared machine's speed drifts over minutes (bare Keras alone varied by up to 25%
    # between runs a few minutes apart): time bare Keras before and after each app run,
    # compare each app run with their mean, and report the median of ROUNDS such ratios.
    bare = [bare_in_subprocess()]
    ratios, peaks = [], []
    for round_ in range(1, ROUNDS + 1):
        app_rate, peak, history = train_in_app()
        bare.append(bare_in_subprocess())
        ratio = app_rate / ((bare[-2] + bare[-1]) / 2)
        ratios.append(ratio)
        peaks.append(peak)
        print(history.strip())
        print(
            f"round {round_}: app epoch {EPOCHS} at {app_rate:,.0f} images/s, bare model.fit "
            f"{bare[-2]:,.0f} before and {bare[-1]:,.0f} after: ratio {ratio:.3f}; "
            f"server peak RSS {peak:.0f} MB",
            flush=True,
        )
    print(f"ratio={statistics.median(ratios):.3f} peak_rss_mb={max(peaks):.0f}")


if __name__ == "__main__":
    main()
