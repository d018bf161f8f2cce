"""How long the data sources take: offline failure, built-ins, local files, a CIFAR-10 zip.

Run from the project root: `python bench/bench_datasets.py`. Needs ../shared/data for the
MNIST / CIFAR-10 rows (set CNNLAB_DATA_DIR, or it uses ../shared/data when present).
Prints seconds per step; not part of the test run.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
if SHARED.is_dir():
    os.environ.setdefault("CNNLAB_DATA_DIR", str(SHARED))

from dashboard.data import builtins  # noqa: E402
from dashboard.data.downloads import DownloadError  # noqa: E402
from dashboard.data.uploads import UploadOptions, load_zip_bytes  # noqa: E402


def timed(label: str, fn):
    start = time.perf_counter()
    result = fn()
    print(f"{label:<58} {time.perf_counter() - start:7.2f} s")
    return result


def offline_failure() -> str:
    """A download with no local copy, on this machine's real network."""
    saved = {k: os.environ.get(k) for k in ("CNNLAB_DATA_DIR", "CNNLAB_CACHE_DIR", "KERAS_HOME")}
    with tempfile.TemporaryDirectory() as empty:
        for key in saved:
            os.environ[key] = empty
        try:
            builtins.load_builtin("fashion_mnist")
            return "downloaded (the network is up)"
        except DownloadError as exc:
            return str(exc)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def cifar_zip(x: np.ndarray, y: np.ndarray, names: list[str], fmt: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i, (image, label) in enumerate(zip(x, y, strict=True)):
            data = io.BytesIO()
            Image.fromarray(image).save(data, fmt)
            archive.writestr(f"cifar/{names[label]}/{i}.{fmt.lower()}", data.getvalue())
    return buffer.getvalue()


def main() -> None:
    print(
        f"timeout for the download probe: {os.environ.get('CNNLAB_DOWNLOAD_TIMEOUT', '8 (default)')} s"
    )
    message = timed("fashion_mnist download with no local copy (fails offline)", offline_failure)
    print(f"  -> {message[:110]}…")
    timed("digits (sklearn)", lambda: builtins.load_digits(8))
    timed("digits28 (sklearn, upscaled)", lambda: builtins.load_digits(28))
    for size, count in ((32, 2000), (64, 2000), (128, 1000)):
        timed(
            f"shapes {count} × {size}×{size}", lambda s=size, c=count: builtins.load_shapes(s, c, 0)
        )
    if not SHARED.is_dir():
        print("../shared/data missing: skipping MNIST / CIFAR-10 rows")
        return
    timed("mnist.npz from CNNLAB_DATA_DIR", lambda: builtins.load_builtin("mnist"))
    cifar = timed(
        "cifar10 (cifar10_subset.npz) from CNNLAB_DATA_DIR",
        lambda: builtins.load_builtin("cifar10"),
    )
    x, y = cifar.x_train, cifar.y_train
    for fmt, n in (("PNG", 4000), ("JPEG", 4000)):
        data = cifar_zip(x[:n], y[:n], cifar.class_names, fmt)
        ds = timed(
            f"zip of {n} CIFAR-10 {fmt}s ({len(data) / 2**20:.1f} MB) -> 32×32 RGB",
            lambda d=data: load_zip_bytes(d, "cifar.zip", UploadOptions(size=32)),
        )
        assert len(ds.y_train) + len(ds.y_test) == n
    big = [np.asarray(Image.fromarray(img).resize((1024, 768))) for img in x[:200]]
    data = cifar_zip(np.stack(big), y[:200], cifar.class_names, "JPEG")
    timed(
        f"zip of 200 photo-size JPEGs 1024×768 ({len(data) / 2**20:.1f} MB) -> 100×100",
        lambda: load_zip_bytes(data, "photos.zip", UploadOptions(size=100)),
    )


if __name__ == "__main__":
    main()
