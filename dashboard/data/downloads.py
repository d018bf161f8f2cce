"""Keras dataset downloads with a CNN Lab cache, and a quick, clear failure offline.

The first load of `mnist`, `fashion_mnist` or `cifar10` asks Keras to download it
(Keras keeps the raw files under ~/.keras/datasets). We then keep the arrays as
`<cache>/<name>.npz` in Keras' mnist.npz layout, so the next load is one np.load:
no network and no TensorFlow import. `<cache>` is $CNNLAB_CACHE_DIR, else
$XDG_CACHE_HOME/cnnlab, else ~/.cache/cnnlab.

Keras' own download has no timeout, so before calling it we try a TCP connection to
the download server, bounded by $CNNLAB_DOWNLOAD_TIMEOUT seconds (DNS included): with
no network the user hears so in seconds, not minutes.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dashboard.data import limits
from dashboard.data.limits import DataError


class DownloadError(DataError):
    """A download failed (usually: no network); the message names the offline choices."""


@dataclass(frozen=True)
class KerasSource:
    loader: str  # the keras.datasets module
    host: str  # where Keras downloads it from
    # Keras' cache under $KERAS_HOME (or ~/.keras): when all exist it needs no network.
    keras_files: tuple[str, ...]


KERAS_SOURCES: dict[str, KerasSource] = {
    "mnist": KerasSource("mnist", "storage.googleapis.com", ("datasets/mnist.npz",)),
    "fashion_mnist": KerasSource(
        "fashion_mnist",
        "storage.googleapis.com",
        tuple(
            f"datasets/fashion-mnist/{kind}-idx{dims}-ubyte.gz"
            for kind, dims in (
                ("train-labels", 1),
                ("train-images", 3),
                ("t10k-labels", 1),
                ("t10k-images", 3),
            )
        ),
    ),
    "cifar10": KerasSource(
        "cifar10",
        "www.cs.toronto.edu",
        ("datasets/cifar-10-batches-py-target/cifar-10-batches-py",),
    ),
}


def cache_dir() -> Path:
    """Where downloaded datasets are kept as .npz files."""
    if os.environ.get("CNNLAB_CACHE_DIR"):
        return Path(os.environ["CNNLAB_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "cnnlab"


def cached_path(name: str) -> Path:
    return cache_dir() / f"{name}.npz"


def keras_home() -> Path:
    """Keras' own cache folder, found the way Keras finds it."""
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"]).expanduser()
    home = Path.home()
    return (home if os.access(home, os.W_OK) else Path("/tmp")) / ".keras"


def keras_has_files(name: str) -> bool:
    """True if Keras can load `name` from its cache without the network."""
    return all((keras_home() / f).exists() for f in KERAS_SOURCES[name].keras_files)


def download_timeout() -> float:
    try:
        return float(os.environ.get("CNNLAB_DOWNLOAD_TIMEOUT", limits.DOWNLOAD_PROBE_TIMEOUT))
    except ValueError:
        return limits.DOWNLOAD_PROBE_TIMEOUT


def reachable(host: str, timeout: float, port: int = 443) -> bool:
    """Can we open a TCP connection to host within `timeout` seconds, DNS lookup included?

    The lookup has no timeout of its own, so the attempt runs in a daemon thread that
    we stop waiting for.
    """
    result: list[bool] = []

    def attempt() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    worker = threading.Thread(target=attempt, name=f"probe-{host}", daemon=True)
    worker.start()
    worker.join(timeout)
    return bool(result and result[0])


def offline_message(name: str, title: str, reason: str) -> str:
    return (
        f"Could not download {title} ({reason}): pick a built-in dataset (digits, digits28 or "
        f"shapes), upload a zip of class folders or an .npz file, or put {name}.npz in the "
        "folder named by the CNNLAB_DATA_DIR environment variable."
    )


def download(name: str, title: str) -> dict[str, np.ndarray]:
    """Keras-layout arrays of a Keras dataset; raises DownloadError within the timeout offline."""
    source = KERAS_SOURCES[name]
    if not keras_has_files(name):
        timeout = download_timeout()
        if not reachable(source.host, timeout):
            raise DownloadError(
                offline_message(name, title, f"no connection to {source.host} within {timeout:g} s")
            )
    try:
        import importlib

        loader = importlib.import_module(f"keras.datasets.{source.loader}")
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    except Exception as exc:  # network drop, HTTP error, bad hash: all mean "no data"
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise DownloadError(offline_message(name, title, reason)) from exc
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def save_to_cache(name: str, arrays: dict[str, Any]) -> Path | None:
    """Keep the arrays as <cache>/<name>.npz; None if the cache cannot be written.

    Written to a temporary file and renamed, so a reader never sees half a file.
    """
    target = cached_path(name)
    tmp_name = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".part", delete=False) as tmp:
            tmp_name = tmp.name
            np.savez(tmp, **arrays)  # uncompressed: loads as fast as the disk reads
        os.replace(tmp_name, target)
    except OSError:
        # A read-only home still works: Keras keeps its own copy, we only lose speed.
        if tmp_name is not None:
            Path(tmp_name).unlink(missing_ok=True)
        return None
    return target
