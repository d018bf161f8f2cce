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

# The most pixels one upload may decode, summed over its images' declared sizes (each
# decoded image is briefly held at full size before it is shrunk).
MAX_DECODED_PIXELS_PER_UPLOAD = 400_000_000
MAX_ZIP_MEMBER_BYTES = 64 * MB  # one file inside a zip, unpacked
MAX_CLASS_NAMES = 1000  # entries of an .npz's class_names
MAX_CLASS_NAME_CHARS = 100  # one class name read back from a model file

# --- training ---------------------------------------------------------------------------
# Batches one run may train (epochs × batches per epoch): 200 MNIST epochs at batch 8
# are 1.35 M.
MAX_RUN_BATCHES = 1_500_000

# --- model specs (Build page, share links, spec files) -----------------------------------
MAX_LAYERS = 64  # layers in one spec, the output layer not counted
MAX_MODEL_PARAMS = 25_000_000  # weights of one model (the cats_vs_dogs preset has 19 M)
MAX_SPEC_BYTES = 64 * 1024  # a spec as JSON: an uploaded file, or what a link unpacks to
MAX_LINK_CHARS = 16_000  # the ?spec= part of a share link
MAX_JSON_DEPTH = 8  # nesting of objects and lists in a spec (a real one has 4)
MAX_INPUT_SIDE = 1024  # a model's input height and width
MAX_INPUT_CHANNELS = 64

# --- model files (Classify page) ------------------------------------------------------
MAX_MODEL_BYTES = 50 * MB
# A .keras file is a zip: refuse one that would unpack to far more than it weighs.
MAX_MODEL_UNPACKED_BYTES = 4 * MAX_MODEL_BYTES
MAX_MODEL_CONFIG_BYTES = 1 * MB  # config.json inside a .keras (a real one is a few KB)
MAX_CLASSIFY_IMAGES = 64  # images classified at once (each kept at most 512 px across)

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


def count_text(n: int, noun: str, plural: str | None = None) -> str:
    """'1 image', '2 images', '1,437 batches': a count with its noun in the right number.

    >>> count_text(1, "batch"), count_text(38, "batch", "batches")
    ('1 batch', '38 batches')
    """
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


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
    entries: Sequence[zipfile.ZipInfo],
    filename: str,
    max_ratio: float = MAX_COMPRESSION_RATIO,
    archive_bytes: int | None = None,
    max_member_bytes: int = MAX_ZIP_MEMBER_BYTES,
) -> None:
    """Refuse a zip (or .npz) before reading any member: too many entries, unsafe paths,
    declared sizes the file cannot hold (`archive_bytes`: the file's size), a member or
    a total too large unpacked, or a compression ratio only a zip bomb has.

    The declared sizes can be trusted as a bound: zipfile stops each member at its
    declared size and fails the CRC check if the data was longer.

    Long because it is one refusal after another, each with its sentence, in the order they are cheap to check.
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
    packed = sum(info.compress_size for info in entries)
    if archive_bytes is not None and packed > archive_bytes:
        # Each member is read up to its declared compressed size; sizes that add up to
        # more than the file itself are lies meant to get more than the file holds.
        raise DataError(
            f"'{filename}' is damaged: its directory declares {human_bytes(packed)} of packed "
            f"data in a {human_bytes(archive_bytes)} file; zip the folder again and upload the new file."
        )
    biggest = max(entries, key=lambda info: info.file_size, default=None)
    if biggest is not None and biggest.file_size > max_member_bytes:
        raise DataError(
            f"'{filename}' holds '{biggest.filename}', which unpacks to "
            f"{human_bytes(biggest.file_size)}; one file may be at most "
            f"{human_bytes(max_member_bytes)}, so leave it out or make it smaller."
        )
    total = sum(info.file_size for info in entries)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise DataError(
            f"'{filename}' would unpack to {human_bytes(total)}; the limit is "
            f"{human_bytes(MAX_UNCOMPRESSED_BYTES)}, so upload fewer or smaller images."
        )
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
