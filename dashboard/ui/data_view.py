"""The Data page's pieces: the dataset picker, the upload form and their button
callbacks, and the preview of the current dataset (summary, counts chart, samples).
pages/data.py calls them in order; the numbers come from dashboard.data."""

from __future__ import annotations

import streamlit as st

from dashboard.data import limits
from dashboard.data.builtins import (
    DEFAULT_DATASET,
    choice_blurb,
    choice_label,
    dataset_choices,
    get_choice,
    load_builtin,
    needs_download,
)
from dashboard.data.datasets import DataError, Dataset
from dashboard.data.preprocess import FIT_HELP, FIT_MODES
from dashboard.data.preview import arrays_caption, class_strips, dataset_metrics
from dashboard.data.uploads import UploadOptions, load_upload, skipped_summary
from dashboard.ui import state
from dashboard.ui.inline_images import grid_html
from dashboard.ui.model_charts import class_counts_figure
from dashboard.ui.notices import set_notice, show_notice
from dashboard.ui.widget_keys import DataKeys

# Where each button's message shows (see ui.notices).
PICK_NOTICE = "pick"
UPLOAD_NOTICE = "upload"

# Uploads join the built-ins in the picker as "upload:<name>".
UPLOAD_PREFIX = "upload:"


def choice_keys(uploads: dict[str, Dataset]) -> list[str]:
    """The picker's options: every built-in, then this session's uploads."""
    return [c.key for c in dataset_choices()] + [UPLOAD_PREFIX + name for name in uploads]


def current_choice_key(current: Dataset | None) -> str:
    """The picker option of the dataset in use (the default before any is chosen)."""
    if current is None:
        return DEFAULT_DATASET
    if not current.shareable:
        return UPLOAD_PREFIX + current.name
    return current.meta.get("choice", DEFAULT_DATASET)


def choice_text(key: str) -> str:
    """How the picker writes an option."""
    if key.startswith(UPLOAD_PREFIX):
        return f"Your upload: {key.removeprefix(UPLOAD_PREFIX)}"
    return choice_label(key)


def use_dataset(key: str, options: dict, busy: str) -> None:
    """Button callback: load the picked dataset, or say in one sentence why not."""
    try:
        with st.spinner(busy):
            if key.startswith(UPLOAD_PREFIX):
                dataset = state.get_uploads()[key.removeprefix(UPLOAD_PREFIX)]
            else:
                dataset = load_builtin(key, **options)
    except DataError as exc:
        set_notice(PICK_NOTICE, "error", str(exc))
    else:
        state.set_dataset(dataset)


def use_upload(upload, options: UploadOptions) -> None:
    """Button callback: decode the upload and make it this session's dataset."""
    if upload is None:
        return
    try:
        with st.spinner(f"Reading {upload.name}…"):
            dataset = load_upload(upload.getvalue(), upload.name, options)
    except DataError as exc:
        set_notice(UPLOAD_NOTICE, "error", str(exc))
    else:
        state.add_upload(dataset)
        state.set_dataset(dataset)
        set_notice(
            UPLOAD_NOTICE,
            "success",
            f"Loaded '{upload.name}': {dataset.num_classes} classes, "
            f"{len(dataset.x_train) + len(dataset.x_test):,} images.",
        )


def dataset_picker_ui() -> None:
    """The "Pick a dataset" tab: the picker, its options and the button that loads it."""
    uploads = state.get_uploads()
    keys = choice_keys(uploads)
    current_key = current_choice_key(state.get_dataset())
    key = st.selectbox(
        "Dataset",
        keys,
        index=keys.index(current_key) if current_key in keys else 0,
        format_func=choice_text,
    )
    choice = get_choice(key)
    if choice is not None:
        st.caption(choice_blurb(key))
    elif key.removeprefix(UPLOAD_PREFIX) in uploads:
        st.caption(uploads[key.removeprefix(UPLOAD_PREFIX)].source)
    options = shapes_options_ui() if key == "shapes" else {}
    title = choice.title if choice else f"your upload '{key.removeprefix(UPLOAD_PREFIX)}'"
    verb = use_verb(key)
    # Callbacks run before the next script run, so the page below already shows the result.
    st.button(
        f"{verb} {title}",
        type="primary",
        key=DataKeys.USE_DATASET,
        on_click=use_dataset,
        args=(key, options, f"Downloading {title}…" if verb == "Download" else f"Loading {title}…"),
    )
    show_notice(PICK_NOTICE)


def use_verb(key: str) -> str:
    """What the button does with the picked dataset: Download, Generate or Use."""
    if needs_download(key):
        return "Download"
    if key == "shapes":
        return "Generate"
    return "Use"


def shapes_options_ui() -> dict[str, int]:
    """Image size, count and seed of the generated Shapes dataset."""
    size_col, count_col, seed_col = st.columns(3)
    size = size_col.selectbox(
        "Image size",
        limits.SHAPES_SIZES,
        index=limits.SHAPES_SIZES.index(32),
        format_func=lambda s: f"{s}×{s}",
    )
    count = count_col.number_input(
        "Images",
        min_value=limits.SHAPES_MIN_COUNT,
        max_value=limits.SHAPES_MAX_COUNT,
        value=2000,
        step=500,
        help="Train and test together; 20 % of each shape is kept for testing.",
    )
    seed = seed_col.number_input(
        "Seed", min_value=0, max_value=2**31 - 1, value=0, help="Same seed, same images."
    )
    return {"size": size, "count": int(count), "seed": int(seed)}


def upload_ui() -> None:
    """The "Upload your own" tab: what to upload, the limits, the file, options, button."""
    st.markdown(
        "Upload a **zip of class folders**: `cats/*.jpg`, `dogs/*.jpg`, … (one folder per "
        "class), or `train/<class>/…` with `test/<class>/…` to keep your own test set. "
        "Or upload an **.npz** with `x_train`, `y_train`, `x_test`, `y_test` and optionally "
        "`class_names`, as Keras' `mnist.npz`. Your upload stays in this browser session."
    )
    st.caption(upload_limits_text())
    upload = st.file_uploader("Zip of class folders, or an .npz", type=["zip", "npz"])
    options = upload_options_ui()
    st.button(
        "Use this upload",
        type="primary",
        disabled=upload is None,
        key=DataKeys.USE_UPLOAD,
        on_click=use_upload,
        args=(upload, options),
    )
    show_notice(UPLOAD_NOTICE)


def upload_limits_text() -> str:
    """Every cap an upload meets, in one caption."""
    return (
        f"Limits: {limits.human_bytes(limits.MAX_UPLOAD_BYTES)} per file, "
        f"{limits.MAX_ZIP_ENTRIES:,} files, {limits.human_bytes(limits.MAX_UNCOMPRESSED_BYTES)} "
        f"unpacked ({limits.human_bytes(limits.MAX_ZIP_MEMBER_BYTES)} per file inside), "
        f"{limits.MAX_DECODED_PIXELS_PER_UPLOAD / 1e6:,.0f} million pixels decoded in all, "
        f"{limits.human_bytes(limits.MAX_DATASET_BYTES)} once resized; images over "
        f"{limits.MAX_IMAGE_PIXELS / 1e6:g} megapixels and files that are not images are skipped."
    )


def upload_options_ui() -> UploadOptions:
    """Size, colour, fit and test share the upload's images get."""
    size_col, color_col, fit_col, split_col = st.columns(4)
    size = size_col.selectbox(
        "Image size",
        limits.UPLOAD_IMAGE_SIZES,
        index=limits.UPLOAD_IMAGE_SIZES.index(32),
        format_func=lambda s: f"{s}×{s}",
        help="Every image is resized to this. Small is fast: 32×32 trains in seconds.",
    )
    color = color_col.radio(
        "Colour",
        ["rgb", "grayscale"],
        format_func={"rgb": "RGB", "grayscale": "Grayscale"}.get,
        horizontal=True,
    )
    fit = fit_col.selectbox(
        "Fit",
        list(FIT_MODES),
        index=list(FIT_MODES).index(UploadOptions().fit),
        format_func=FIT_MODES.get,
        help=FIT_HELP + " Classify prepares new images the same way for models trained on it.",
    )
    test_percent = split_col.slider(
        "Test %", 5, 50, 20, step=5, help="Used when the zip has no test folder."
    )
    return UploadOptions(size=size, color=color, fit=fit, test_fraction=test_percent / 100)


def dataset_summary_ui(dataset: Dataset) -> None:
    """Name, source, skipped files, sizes and the arrays behind the dataset."""
    st.header(f"Current dataset: {dataset.name}")
    st.caption(f"Source: {dataset.source}")
    if (note := skipped_summary(dataset)) is not None:
        st.warning(note)
    for col, (label, value) in zip(st.columns(4), dataset_metrics(dataset), strict=True):
        col.metric(label, value)
    st.caption(arrays_caption(dataset))


def class_counts_ui(dataset: Dataset) -> None:
    """A bar chart of train and test images per class."""
    train_counts, test_counts = dataset.class_counts()
    st.subheader("Images per class")
    st.plotly_chart(
        class_counts_figure(dataset.class_names, train_counts.tolist(), test_counts.tolist()),
        width="stretch",
    )


def class_samples_ui(dataset: Dataset) -> None:
    """A strip of sample images per class, in two columns."""
    st.subheader("Samples per class")
    strips = class_strips(dataset)
    if len(strips) < dataset.num_classes:
        st.caption(f"Showing the first {len(strips)} of {dataset.num_classes} classes.")
    columns = st.columns(2)
    for i, strip in enumerate(strips):
        columns[i % 2].html(grid_html([strip.image], [strip.caption]))
