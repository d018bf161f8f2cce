"""Keras-layout `.npz` files (x_train, y_train, x_test, y_test, optional class_names),
refused by their headers before NumPy allocates anything."""

from __future__ import annotations

import io
import math
import zipfile
from pathlib import Path
from typing import IO

import numpy as np

from dashboard.data import limits
from dashboard.data.budget import BUDGET
from dashboard.data.datasets import Dataset, dataset_from_arrays, hold_dataset
from dashboard.data.limits import DataError, human_bytes


def array_header(member: IO[bytes]) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) of one .npy member, read from its header without loading it."""
    version = np.lib.format.read_magic(member)
    read = (
        np.lib.format.read_array_header_1_0
        if version == (1, 0)
        else np.lib.format.read_array_header_2_0
    )
    shape, _, dtype = read(member)
    return shape, dtype


def check_npz_headers(archive: zipfile.ZipFile, filename: str) -> int:
    """Refuse an .npz by its arrays' headers, before any array is allocated: NumPy makes
    an array of the declared shape first and fills it after, so a header that lies
    about its shape, or arrays too large together, never reach np.load."""
    total = 0
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            continue
        with archive.open(info) as member:
            try:
                shape, dtype = array_header(member)
            except (ValueError, OSError, EOFError, SyntaxError):
                raise DataError(
                    f"'{filename}' has a damaged array '{info.filename}'; save the arrays "
                    "again with numpy.savez and upload the new file."
                ) from None
        declared = math.prod(shape) * dtype.itemsize
        if declared > info.file_size:
            raise DataError(
                f"'{filename}' is damaged: '{info.filename}' declares {human_bytes(declared)} "
                f"but holds {human_bytes(info.file_size)}; save it again and upload the new file."
            )
        if info.filename == "class_names.npy" and math.prod(shape) > limits.MAX_CLASS_NAMES:
            raise DataError(
                f"'{filename}' names {math.prod(shape):,} classes; CNN Lab takes at most "
                f"{limits.MAX_CLASS_NAMES:,}, so keep one name per class."
            )
        total += declared
    if total > limits.MAX_DATASET_BYTES:
        raise DataError(
            f"'{filename}' holds {human_bytes(total)} of arrays; a dataset may take at most "
            f"{human_bytes(limits.MAX_DATASET_BYTES)}, so keep fewer or smaller images."
        )
    return total


def read_npz(file: Path | io.BytesIO, name: str, source: str, *, shareable: bool) -> Dataset:
    """A Dataset from an .npz in Keras layout; refuses pickles and oversized members."""
    try:
        with zipfile.ZipFile(file) as archive:
            size = file.getbuffer().nbytes if isinstance(file, io.BytesIO) else file.stat().st_size
            limits.check_archive(
                archive.infolist(),
                f"{name}.npz",
                limits.MAX_NPZ_COMPRESSION_RATIO,
                archive_bytes=size,
                max_member_bytes=limits.MAX_DATASET_BYTES,
            )
            declared = check_npz_headers(archive, f"{name}.npz")
        if isinstance(file, io.BytesIO):
            file.seek(0)
        # The arrays as loaded, and the checked copies dataset_from_arrays may make.
        with (
            BUDGET.reserve(2 * declared, f"Reading '{name}.npz'", NPZ_FIX),
            np.load(file, allow_pickle=False) as npz,
        ):
            arrays = {key: npz[key] for key in npz.files}
            return dataset_from_arrays(name, arrays, source, shareable=shareable)
    except zipfile.BadZipFile:
        raise DataError(
            f"'{name}.npz' is not an .npz file; save the arrays with numpy.savez or savez_compressed."
        ) from None
    except ValueError as exc:
        if isinstance(exc, DataError):
            raise
        # np.load raises ValueError for object arrays (which need pickle) and broken members.
        raise DataError(
            f"'{name}.npz' could not be read ({exc}); save plain numeric arrays and a string "
            "array of class names with numpy.savez."
        ) from None
    except (OSError, EOFError) as exc:
        raise DataError(f"'{name}.npz' is damaged ({exc}); save it again and retry.") from None


NPZ_FIX = "save fewer or smaller images in it"


def load_npz_bytes(data: bytes, filename: str) -> Dataset:
    """An uploaded .npz (Keras layout). It stays in the uploader's session: shareable=False."""
    limits.check_upload_size(len(data), filename)
    name = Path(filename).stem or "upload"
    dataset = read_npz(io.BytesIO(data), name, f"your upload '{filename}'", shareable=False)
    dataset.meta.update(upload=filename)
    return hold_dataset(dataset, f"Keeping '{filename}'", NPZ_FIX)
