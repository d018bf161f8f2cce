"""Inputs small on the wire and heavy once read, and legal-but-huge choices, made here.

Shared by tests/app/test_shared_server.py and bench/abuse.py. Not a test module itself.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from dashboard.model.share_links import spec_to_link_param
from dashboard.model.spec import LayerSpec, ModelSpec

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def make_zip(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


# --- specs and links ---------------------------------------------------------------------


def link_of(data: dict) -> str:
    """A share link's ?spec= value for any JSON object (valid spec or not)."""
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def many_layers_link(count: int = 40_000) -> str:
    """A ~2.6 KB link whose spec has `count` layers."""
    return link_of(
        {"input_shape": [28, 28, 1], "layers": [{"type": "Dropout", "rate": 0.1}] * count}
    )


def huge_spec() -> ModelSpec:
    """What the Build page's own widgets allow: 6.6 G parameters on 28×28 digits."""
    conv = LayerSpec("Conv2D", {"filters": 1024, "padding": "same"})
    return ModelSpec((28, 28, 1), [conv, LayerSpec("Flatten"), LayerSpec("Dense", {"units": 8192})])


def huge_spec_link() -> str:
    return spec_to_link_param(huge_spec())


# --- zips and .npz -----------------------------------------------------------------------


def lie_about_sizes(data: bytes, compressed: int, uncompressed: int) -> bytes:
    """Rewrite every central-directory entry's declared sizes."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    while at != -1:
        struct.pack_into("<II", out, at + 20, compressed, uncompressed)
        at = out.find(b"PK\x01\x02", at + 4)
    return bytes(out)


def lying_zip() -> bytes:
    """Six small PNGs whose directory claims 5 MB packed, 6 MB unpacked each."""
    entries = [
        (f"{c}/{i}.png", png(np.full((8, 8, 3), i, np.uint8))) for c in "ab" for i in range(3)
    ]
    return lie_about_sizes(make_zip(entries), compressed=5 * MB, uncompressed=6 * MB)


def big_member_zip(megabytes: int = 65) -> bytes:
    """One member of `megabytes` of zeros: ~65 KB on the wire."""
    return make_zip(
        [("a/1.png", png(np.zeros((4, 4, 3), np.uint8))), ("a/big.png", bytes(megabytes * MB))]
    )


def dots_zip(per_class: int = 5_500) -> bytes:
    """Two classes of 1×1 PNGs: harmless at 32×32, 516 MB at 128×128."""
    dot = png(np.zeros((1, 1, 3), np.uint8))
    return make_zip([(f"{c}/{i}.png", dot) for c in "ab" for i in range(per_class)])


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def small_arrays(**override) -> dict[str, np.ndarray]:
    arrays = {
        "x_train": np.zeros((6, 8, 8), np.uint8),
        "y_train": np.arange(6) % 2,
        "x_test": np.zeros((2, 8, 8), np.uint8),
        "y_test": np.arange(2) % 2,
    }
    return {**arrays, **override}


def lying_npz() -> bytes:
    """A valid .npz (CRCs and all) whose x_train header declares ten million images over
    384 bytes of data: NumPy allocates the declared shape before it reads."""
    honest = zipfile.ZipFile(io.BytesIO(npz_bytes(**small_arrays())))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as liar:
        for info in honest.infolist():
            data = honest.read(info)
            if info.filename == "x_train.npy":
                start, end = data.find(b"{"), data.find(b"\n")
                lie = b"{'descr': '|u1', 'fortran_order': False, 'shape': (10000000, 8, 8), }"
                data = data[:start] + lie.ljust(end - start) + data[end:]
            liar.writestr(info.filename, data)
    return buffer.getvalue()


# --- .keras files ----------------------------------------------------------------------


def keras_bytes(config_edit=None, config_bytes: bytes | None = None) -> bytes:
    """The shipped digits model as a .keras file, its config.json edited."""
    source = ROOT / "models" / "pretrained" / "digits.keras"
    buffer = io.BytesIO()
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(buffer, "w") as out:
        for info in original.infolist():
            data = original.read(info)
            if info.filename == "config.json":
                if config_bytes is not None:
                    data = config_bytes
                elif config_edit is not None:
                    config = json.loads(data)
                    config_edit(config)
                    data = json.dumps(config).encode()
            out.writestr(info.filename, data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _layers(config: dict) -> list[dict]:
    return config["config"]["layers"]


def bomb_keras() -> bytes:
    """~60 KB whose config asks Keras to build hundreds of billions of weights."""

    def bomb(config):
        dense = next(layer for layer in _layers(config) if layer["class_name"] == "Dense")
        dense["config"]["units"] = 200_000_000

    return keras_bytes(bomb)


def wide_keras() -> bytes:
    """A model that takes 20000×20000 images (Classify would resize every image to it)."""

    def wide(config):
        for layer in _layers(config):
            if layer["class_name"] == "InputLayer":
                layer["config"]["batch_shape"] = [None, 20_000, 20_000, 1]

    return keras_bytes(wide)


def shapeless_keras() -> bytes:
    """A config whose Dense layers hide their input size (no build_config): their weights
    would only be known once Keras builds them."""

    def shapeless(config):
        for layer in _layers(config):
            if layer["class_name"] == "Dense":
                layer.pop("build_config", None)

    return keras_bytes(shapeless)


def padded_config_keras() -> bytes:
    """A .keras whose config.json is 2 MB of padding."""
    return keras_bytes(config_bytes=b'{"module": "keras", "x": "' + b" " * (2 * MB) + b'"}')


def flat_photo_png(side: int = 5000) -> bytes:
    """A flat side×side PNG: ~35 KB on the wire, 75 MB once decoded."""
    return png(np.full((side, side, 3), 200, np.uint8))
