"""Keras downloads: the offline message with the network blocked, and the download cache."""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dashboard.data import downloads
from dashboard.data.builtins import load_builtin
from dashboard.data.datasets import FASHION_NAMES
from dashboard.data.downloads import DownloadError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No local files, empty caches, and every socket connection refused; records attempts."""
    attempts: list = []

    def blocked(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError("network blocked by the test")

    def no_lookup(host, *args, **kwargs):
        attempts.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "name lookup blocked by the test")

    monkeypatch.setattr(socket, "getaddrinfo", no_lookup)
    monkeypatch.setattr(socket.socket, "connect", blocked)
    monkeypatch.setattr(socket.socket, "connect_ex", blocked)
    for var, sub in (
        ("CNNLAB_DATA_DIR", "data"),
        ("CNNLAB_CACHE_DIR", "cache"),
        ("KERAS_HOME", "keras"),
    ):
        monkeypatch.setenv(var, str(tmp_path / sub))
    return attempts


@pytest.mark.parametrize(
    ("name", "title"),
    [("mnist", "MNIST"), ("fashion_mnist", "Fashion-MNIST"), ("cifar10", "CIFAR-10")],
)
def test_offline_download_names_the_offline_choices_then_built_ins_still_work(offline, name, title):
    with pytest.raises(DownloadError) as info:
        load_builtin(name)
    message = str(info.value)
    assert message.startswith(f"Could not download {title} (no connection to ")
    for offline_choice in (
        "built-in dataset (digits, digits28 or shapes)",
        "upload a zip",
        f"{name}.npz",
        "CNNLAB_DATA_DIR",
    ):
        assert offline_choice in message
    assert message.count(". ") == 0 and message.endswith(".")  # one sentence
    assert offline, "the download server was never tried"
    # The failure is not cached, and an offline dataset loads right after it.
    assert load_builtin("digits").num_classes == 10
    assert load_builtin("shapes", size=16, count=50).num_classes == 5


def test_probe_gives_up_after_the_timeout_when_the_lookup_hangs(monkeypatch):
    import threading

    release = threading.Event()

    def hanging_lookup(*args, **kwargs):
        release.wait(30)  # a DNS lookup that never answers (it has no timeout of its own)
        raise OSError("gave up")

    monkeypatch.setattr(socket, "create_connection", hanging_lookup)
    assert downloads.reachable("example.invalid", timeout=0.2) is False
    release.set()


def test_timeout_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("CNNLAB_DOWNLOAD_TIMEOUT", "2.5")
    assert downloads.download_timeout() == 2.5
    monkeypatch.setenv("CNNLAB_DOWNLOAD_TIMEOUT", "soon")
    assert downloads.download_timeout() == 8.0


def write_idx(path: Path, array: np.ndarray) -> None:
    """An MNIST-style idx file, gzipped, as Keras downloads it."""
    header = (2049 if array.ndim == 1 else 2051).to_bytes(4, "big")
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


LOAD_IN_FRESH_PROCESS = """
import json, socket, sys
def blocked(*a, **k):
    raise OSError("network blocked by the test")
socket.socket.connect = blocked
from dashboard.data.builtins import load_builtin
d = load_builtin("fashion_mnist")
print(json.dumps({"source": d.source, "shape": d.x_train.shape, "test": len(d.x_test),
                  "names": d.class_names, "tf": "tensorflow" in sys.modules}))
"""


def test_keras_download_is_cached_and_the_next_load_needs_neither_network_nor_keras(
    tmp_path, mnist_path
):
    # Stand in for Keras' finished download: its cache files, built from real MNIST images
    # (Fashion-MNIST's files carry no checksum, so Keras reads them as they are).
    keras_dir = tmp_path / "keras" / "datasets" / "fashion-mnist"
    keras_dir.mkdir(parents=True)
    with np.load(mnist_path) as npz:
        x_train, y_train = npz["x_train"][:300], npz["y_train"][:300]
        x_test, y_test = npz["x_test"][:100], npz["y_test"][:100]
    for stem, array in (("train-labels-idx1", y_train), ("train-images-idx3", x_train),
                        ("t10k-labels-idx1", y_test), ("t10k-images-idx3", x_test)):  # fmt: skip
        write_idx(keras_dir / f"{stem}-ubyte.gz", array)
    env = {**os.environ, "KERAS_HOME": str(tmp_path / "keras"), "CNNLAB_CACHE_DIR": str(tmp_path / "cache"),
           "CNNLAB_DATA_DIR": str(tmp_path / "none"), "PYTHONPATH": str(ROOT)}  # fmt: skip

    def load() -> dict:
        out = subprocess.run(
            [sys.executable, "-c", LOAD_IN_FRESH_PROCESS],
            env=env, cwd=tmp_path, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return json.loads(out.stdout.strip().splitlines()[-1])

    first = load()
    assert first["source"] == "Fashion-MNIST, downloaded by Keras"
    assert first["shape"] == [300, 28, 28, 1] and first["test"] == 100
    assert first["names"] == FASHION_NAMES
    cached = tmp_path / "cache" / "fashion_mnist.npz"
    assert cached.is_file()
    with np.load(cached) as npz:
        assert np.array_equal(npz["x_train"], x_train)

    # Keras' copy gone: the next load reads the CNN Lab cache, without TensorFlow.
    for f in keras_dir.iterdir():
        f.unlink()
    second = load()
    assert second["source"] == f"the CNN Lab download cache: {cached}"
    assert second["tf"] is False
    assert second["names"] == FASHION_NAMES


def test_the_cli_says_the_downloads_own_sentence_when_offline(offline, tmp_path, capsys):
    # It used to turn "no connection" into "No dataset 'fashion_mnist'", which is wrong.
    from dashboard.cli import main

    code = main(["train", "--dataset", "fashion_mnist", "--out", str(tmp_path / "out")])
    error = capsys.readouterr().err.strip()
    assert code == 2
    assert error.startswith("error: Could not download Fashion-MNIST (no connection to ")
    assert "No dataset" not in error and "built-in dataset (digits, digits28 or shapes)" in error
