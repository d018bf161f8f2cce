"""Uploads: a zip of class folders (or an .npz) becomes a Dataset, decoded in memory.

Zip layouts:
- `<class>/<image>`: one folder per class; a test split is drawn with a seed;
- `train/<class>/…` with `test/<class>/…` (also `Training`/`Test`, `val`, as in
  Fruits-360): the zip's own split is kept.
One enclosing folder (`fruits/apple/1.jpg`) is looked through. Nothing is written to
disk: members are read from the uploaded bytes, after `limits.check_archive` has
refused unsafe names, too many entries, too much data and zip bombs.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from dashboard.data import limits
from dashboard.data.budget import BUDGET
from dashboard.data.datasets import Dataset, check_class_counts, hold_dataset, stratified_split
from dashboard.data.images import ImageError
from dashboard.data.limits import DataError
from dashboard.data.npz import load_npz_bytes
from dashboard.data.preprocess import FIT_MODES, UPLOAD_DEFAULT, Preprocessing, decode_for_model

COLOR_MODES = ("rgb", "grayscale")
TRAIN_FOLDERS = {"train", "training"}
TEST_FOLDERS = {"test", "testing", "val", "validation"}
# Made by the OS or an archiver, not by the user: ignored without counting as skipped.
JUNK_PARTS = {"__MACOSX", "Thumbs.db", "desktop.ini"}


@dataclass(frozen=True)
class UploadOptions:
    size: int = 32  # images become size × size
    color: str = "rgb"  # or "grayscale"
    test_fraction: float = 0.2  # used when the zip has no test folder
    seed: int = 0
    fit: str = UPLOAD_DEFAULT.fit  # one of preprocess.FIT_MODES

    @property
    def channels(self) -> int:
        return 3 if self.color == "rgb" else 1

    @property
    def preprocessing(self) -> Preprocessing:
        """What every image of the upload goes through: kept with the runs trained on it,
        so Classify prepares a new photo the same way."""
        return Preprocessing(fit=self.fit, invert=UPLOAD_DEFAULT.invert)


class SkipImage(Exception):
    """This file is not used; str() says why, in a few words."""


def _is_junk(parts: tuple[str, ...]) -> bool:
    return any(p in JUNK_PARTS or p.startswith(".") for p in parts)


def decode_counted(data: bytes, options: UploadOptions) -> tuple[np.ndarray, int]:
    """Image bytes -> (uint8 (size, size, C) through the one image pipeline, pixels the
    decoding took after JPEG's draft scaling); raises SkipImage for non-images, damaged
    files and images over Pillow's pixel limit."""
    shape = (options.size, options.size, options.channels)
    try:
        array, _, decoded = decode_for_model(data, shape, options.preprocessing)
    except ImageError as exc:
        raise SkipImage(exc.reason) from None
    return array, decoded


@dataclass
class _Entry:
    info: zipfile.ZipInfo
    split: str  # "train", "test" or "" (no split in the zip)
    label: str


def _layout(
    infos: list[zipfile.ZipInfo],
) -> tuple[list[_Entry], list[tuple[str, str]]]:
    """Sort the files into (split, class) entries; files outside a class folder are skipped."""
    files = []
    for info in infos:
        parts = tuple(p for p in PurePosixPath(info.filename.replace("\\", "/")).parts if p)
        if info.is_dir() or not parts or _is_junk(parts):
            continue
        files.append((info, parts))
    # Look through an enclosing folder shared by every file (zipping a folder adds one);
    # a file lying next to the class folders (a README) is then skipped, not a class.
    while (
        files
        and len({p[0] for _, p in files}) == 1
        and any(len(p) >= 3 for _, p in files)
        and all(len(p) >= 2 for _, p in files)
    ):
        files = [(info, p[1:]) for info, p in files]
    tops = {p[0].lower() for _, p in files if len(p) >= 2}
    has_split = bool(tops) and tops <= TRAIN_FOLDERS | TEST_FOLDERS and bool(tops & TRAIN_FOLDERS)

    entries, skipped = [], []
    for info, parts in files:
        if has_split:
            if len(parts) < 3 or parts[0].lower() not in TRAIN_FOLDERS | TEST_FOLDERS:
                skipped.append((info.filename, "not in a class folder"))
                continue
            split = "train" if parts[0].lower() in TRAIN_FOLDERS else "test"
            entries.append(_Entry(info, split, parts[1]))
        elif len(parts) < 2:
            skipped.append((info.filename, "not in a class folder"))
        else:
            entries.append(_Entry(info, "", parts[0]))
    return entries, skipped


def load_zip_bytes(data: bytes, filename: str, options: UploadOptions | None = None) -> Dataset:
    """A Dataset from an uploaded zip of class folders, decoded in memory.

    Raises DataError (one sentence) when the zip is refused; skipped files are listed in
    dataset.meta['skipped'] as (name, reason) and summed up by skipped_summary().

    Long because it is the upload's checks and steps in order, refusing before it allocates.
    """
    options = options or UploadOptions()
    if options.color not in COLOR_MODES or options.fit not in FIT_MODES:
        raise ValueError(f"bad options {options}")
    limits.check_upload_size(len(data), filename)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise DataError(
            f"'{filename}' is not a zip file; zip a folder that has one subfolder of images per class."
        ) from None
    with archive:
        infos = archive.infolist()
        limits.check_archive(infos, filename, archive_bytes=len(data))
        entries, skipped = _layout(infos)
        if not entries:
            raise DataError(
                f"'{filename}' has no images in class folders; zip a folder that has one "
                "subfolder of images per class (for example cats/ and dogs/)."
            )
        has_split = any(e.split for e in entries)
        class_names = sorted({e.label for e in entries if e.split != "test"})
        if has_split:
            unknown = [e for e in entries if e.split == "test" and e.label not in class_names]
            skipped += [(e.info.filename, "class only in the test folder") for e in unknown]
            entries = [e for e in entries if e not in unknown]
        decoded_bytes = len(entries) * options.size * options.size * options.channels
        if decoded_bytes > limits.MAX_DATASET_BYTES:
            raise DataError(
                f"{len(entries):,} images of {options.size}×{options.size} would take "
                f"{limits.human_bytes(decoded_bytes)} of memory (limit "
                f"{limits.human_bytes(limits.MAX_DATASET_BYTES)}); pick a smaller image size "
                "or upload fewer images."
            )
        # The images go into one array, then split into train and test (a second copy);
        # the largest image, decoded at full size before it is shrunk, comes on top.
        peak = 2 * decoded_bytes + limits.MAX_IMAGE_PIXELS * 4
        with BUDGET.reserve(peak, f"Decoding '{filename}'", UPLOAD_FIX):
            x, labels, splits = _decode_entries(archive, entries, class_names, options, skipped)

    counts = np.bincount(np.array(labels, dtype=np.int64), minlength=len(class_names))
    check_class_counts(dict(zip(class_names, counts.tolist(), strict=True)), f"'{filename}'")
    y = np.array(labels, dtype=np.int64)
    given_test = np.array([s == "test" for s in splits])
    if given_test.any():
        test, split_text = given_test, "its own test folder"
    else:
        test = stratified_split(y, options.test_fraction, options.seed)
        split_text = f"{options.test_fraction:.0%} held out per class (seed {options.seed})"
    if (~test).sum() == 0:
        raise DataError(f"'{filename}' has test images but no train images; add a train folder.")
    mode = "RGB" if options.color == "rgb" else "grayscale"
    dataset = Dataset.from_split(
        x,
        y,
        test,
        name=Path(filename).stem or "upload",
        class_names=class_names,
        source=(
            f"your upload '{filename}': {len(y):,} images in {len(class_names)} class folders, "
            f"resized to {options.size}×{options.size} {mode} "
            f"({FIT_MODES[options.fit].lower()}); test set: {split_text}"
        ),
        preprocessing=options.preprocessing,
        shareable=False,  # uploads never leave the uploader's session
        meta={"upload": filename, "skipped": skipped, "options": options.__dict__.copy()},
    )
    return hold_dataset(dataset, f"Keeping '{filename}'", UPLOAD_FIX)


UPLOAD_FIX = "pick a smaller image size or grayscale, or upload fewer images"


def _decode_entries(
    archive: zipfile.ZipFile,
    entries: list[_Entry],
    class_names: list[str],
    options: UploadOptions,
    skipped: list[tuple[str, str]],
) -> tuple[np.ndarray, list[int], list[str]]:
    """Decode every entry into one preallocated array; unusable files go to `skipped`.

    Raises DataError once the decoded pixels pass MAX_DECODED_PIXELS_PER_UPLOAD: many
    small files can each be a legal image and still cost minutes of CPU together.
    """
    x = np.empty((len(entries), options.size, options.size, options.channels), np.uint8)
    labels: list[int] = []
    splits: list[str] = []
    index = {name: i for i, name in enumerate(class_names)}
    pixels_decoded = 0
    for entry in sorted(entries, key=lambda e: e.info.filename):  # same zip, same dataset
        try:
            raw = archive.read(entry.info)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError) as exc:
            # Bad CRC, encryption, an unknown compression method.
            skipped.append((entry.info.filename, f"unreadable in the zip ({str(exc)[:60]})"))
            continue
        try:
            image, pixels = decode_counted(raw, options)
        except SkipImage as why:
            skipped.append((entry.info.filename, str(why)))
            continue
        pixels_decoded += pixels
        if pixels_decoded > limits.MAX_DECODED_PIXELS_PER_UPLOAD:
            raise DataError(
                f"The images in this zip hold more than "
                f"{limits.MAX_DECODED_PIXELS_PER_UPLOAD:,} pixels together, "
                "more than one upload may decode; shrink the photos (for example to 1000 "
                "pixels across) or upload fewer of them."
            )
        x[len(labels)] = image
        labels.append(index[entry.label])
        splits.append(entry.split)
    return x[: len(labels)], labels, splits


def skipped_summary(dataset: Dataset) -> str | None:
    """One sentence on the files an upload skipped, with one example; None if none."""
    skipped = dataset.meta.get("skipped") or []
    if not skipped:
        return None
    name, reason = skipped[0]
    n = len(skipped)
    return (
        f"Skipped {n} {'file' if n == 1 else 'files'} that could not be used, for example "
        f"'{name}' ({reason}); all other images loaded."
    )


def load_upload(data: bytes, filename: str, options: UploadOptions | None = None) -> Dataset:
    """An uploaded .npz (Keras layout) or zip of class folders, by its file name."""
    if filename.lower().endswith(".npz"):
        return load_npz_bytes(data, filename)
    return load_zip_bytes(data, filename, options)
