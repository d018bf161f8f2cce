"""Every limit that keeps the server alive, in one place.

Uploads are checked against these before anything is decoded; each refusal is one
sentence that says what to do. `.streamlit/config.toml` caps the upload size too
(`server.maxUploadSize`, in MB); keep the two equal.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence

from PIL import Image


class DataError(ValueError):
    """A problem with data that the user can fix; str() is one sentence saying how.

    Every refusal below raises it, and so do the dataset sources (datasets.py re-exports it).
    """


MB = 1024 * 1024

# --- uploads ----------------------------------------------------------------------
MAX_UPLOAD_BYTES = 200 * MB  # one uploaded file (zip or .npz)
MAX_ZIP_ENTRIES = 20_000  # files and folders in one zip
MAX_UNCOMPRESSED_BYTES = 1024 * MB  # sum of the declared sizes of a zip's (or .npz's) members
# Photos (JPEG, PNG) barely compress; zeros compress ~1000:1. A ratio check below this
# size would only refuse harmless toys, so it starts at RATIO_CHECK_FROM_BYTES.
MAX_COMPRESSION_RATIO = 50
# Arrays of flat synthetic images compress far better than photos; zeros still exceed this.
MAX_NPZ_COMPRESSION_RATIO = 300
RATIO_CHECK_FROM_BYTES = 1 * MB
MAX_IMAGE_PIXELS = 25_000_000  # per image (5000 × 5000); larger images are skipped
MAX_DATASET_BYTES = 512 * MB  # the decoded uint8 arrays of one uploaded dataset
MAX_UPLOADS_PER_SESSION = 3  # older uploads are forgotten first

# --- what a dataset needs -------------------------------------------------------------
MIN_CLASSES = 2
MIN_IMAGES_PER_CLASS = 2  # one to train on, one to test on

# --- choices on the Data page -------------------------------------------------------------
UPLOAD_IMAGE_SIZES = (16, 28, 32, 48, 64, 96, 100, 128)
SHAPES_SIZES = (16, 24, 32, 48, 64, 96, 128)
SHAPES_MIN_COUNT = 50
SHAPES_MAX_COUNT = 20_000

# --- downloads --------------------------------------------------------------------------
# Seconds to wait for the download server before saying "no network" (env CNNLAB_DOWNLOAD_TIMEOUT).
DOWNLOAD_PROBE_TIMEOUT = 8.0

# Pillow's decompression-bomb guard: warns above this many pixels and raises above twice
# as many, before decoding. Set once for the whole app, so every image opened anywhere is
# bounded; uploads also skip anything between the two (see uploads.py).
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS


def human_bytes(n: int) -> str:
    """'200 MB', '3.4 KB': sizes as a user reads them."""
    for unit, size in (("GB", 1024**3), ("MB", MB), ("KB", 1024)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"
    return f"{n} bytes"


# --- the checks, each refusal one sentence --------------------------------------------


def check_upload_size(n_bytes: int, filename: str) -> None:
    if n_bytes > MAX_UPLOAD_BYTES:
        raise DataError(
            f"'{filename}' is {human_bytes(n_bytes)}; uploads are limited to "
            f"{human_bytes(MAX_UPLOAD_BYTES)}, so upload fewer or smaller images."
        )


_DRIVE = re.compile(r"^[A-Za-z]:")


def is_unsafe_name(name: str) -> bool:
    """An absolute path, a Windows drive, or a '..' part: names that could escape a folder."""
    parts = re.split(r"[/\\]", name)
    return name.startswith(("/", "\\")) or bool(_DRIVE.match(name)) or ".." in parts


def check_archive(
    entries: Sequence[zipfile.ZipInfo], filename: str, max_ratio: float = MAX_COMPRESSION_RATIO
) -> None:
    """Refuse a zip (or .npz) before reading any member: too many entries, unsafe paths,
    too much uncompressed data, or a compression ratio only a zip bomb has.

    The declared sizes can be trusted as a bound: zipfile stops each member at its
    declared size and fails the CRC check if the data was longer.
    """
    if len(entries) > MAX_ZIP_ENTRIES:
        raise DataError(
            f"'{filename}' holds {len(entries):,} entries; the limit is {MAX_ZIP_ENTRIES:,}, "
            "so upload fewer images (for example a subset of each class)."
        )
    for info in entries:
        if is_unsafe_name(info.filename):
            raise DataError(
                f"'{filename}' was refused because its entry '{info.filename}' has an absolute "
                "path or '..'; zip the class folders themselves and upload again."
            )
    total = sum(info.file_size for info in entries)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise DataError(
            f"'{filename}' would unpack to {human_bytes(total)}; the limit is "
            f"{human_bytes(MAX_UNCOMPRESSED_BYTES)}, so upload fewer or smaller images."
        )
    packed = sum(info.compress_size for info in entries)
    suspicious = [
        info
        for info in entries
        if info.file_size >= RATIO_CHECK_FROM_BYTES
        and info.file_size > max_ratio * max(info.compress_size, 1)
    ]
    if suspicious or (total >= RATIO_CHECK_FROM_BYTES and total > max_ratio * max(packed, 1)):
        worst = suspicious[0] if suspicious else None
        ratio = (worst.file_size / max(worst.compress_size, 1)) if worst else total / max(packed, 1)
        raise DataError(
            f"'{filename}' was not unpacked because it would expand {ratio:,.0f} times (the "
            f"limit is {max_ratio:,.0f}), which is what a zip bomb does; if these are real "
            "images, save them as PNG or JPEG and zip them again."
        )
