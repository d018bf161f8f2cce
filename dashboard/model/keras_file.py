"""`.keras` files as bytes, with what CNN Lab knows about the model in their metadata.

A `.keras` file is a zip of `config.json`, `model.weights.h5` and `metadata.json`.
CNN Lab adds one key, `cnnlab`, to `metadata.json`: the class names and how images
were prepared for training (`dashboard.data.preprocess.Preprocessing`). Keras reads
the file as it would any other, and Classify reads the key back, so a downloaded
model is asked about new photos the way it was trained.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from typing import Any

from dashboard.model.spec import json_depth

METADATA = "metadata.json"
KEY = "cnnlab"
# Keras writes ~100 bytes here; our key adds class names. More is not a model's metadata.
MAX_METADATA_BYTES = 256 * 1024
MAX_METADATA_DEPTH = 8


def save_bytes(model: Any, extra: dict[str, Any] | None = None) -> bytes:
    """`model.save()` as bytes, with `extra` (JSON-able) under metadata.json's `cnnlab` key."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        with open(path, "rb") as fh:
            data = fh.read()
    return with_metadata(data, extra) if extra else data


def with_metadata(data: bytes, extra: dict[str, Any]) -> bytes:
    """A copy of the `.keras` bytes whose metadata.json also holds `extra` under `cnnlab`."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        names = source.namelist()
        for info in source.infolist():
            payload = source.read(info)
            if info.filename == METADATA:
                payload = json.dumps({**json.loads(payload), KEY: extra}).encode()
            target.writestr(info, payload)
        if METADATA not in names:
            target.writestr(METADATA, json.dumps({KEY: extra}))
    return out.getvalue()


def read_metadata(archive: zipfile.ZipFile) -> dict[str, Any]:
    """The `cnnlab` metadata of an opened `.keras` archive; {} when it has none, or when
    metadata.json is too large, too deep or not JSON (a file from elsewhere still loads)."""
    try:
        info = archive.getinfo(METADATA)
    except KeyError:
        return {}
    if info.file_size > MAX_METADATA_BYTES:
        return {}
    try:
        raw = archive.read(info)
        if json_depth(raw) > MAX_METADATA_DEPTH:
            return {}
        value = json.loads(raw).get(KEY)
    except (ValueError, AttributeError, zipfile.BadZipFile, OSError, RuntimeError):
        return {}
    return value if isinstance(value, dict) else {}
