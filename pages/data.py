"""Data: pick a built-in dataset, download one, or upload your own, and see what is in it."""

import streamlit as st

from dashboard.data import limits
from dashboard.data.builtins import (
    DEFAULT_DATASET,
    choice_label,
    dataset_choices,
    get_choice,
    load_builtin,
    needs_download,
)
from dashboard.data.datasets import DataError
from dashboard.data.preprocess import FIT_HELP, FIT_MODES
from dashboard.data.preview import class_strips
from dashboard.data.uploads import UploadOptions, load_upload, skipped_summary
from dashboard.ui import state
from dashboard.ui.inline_images import grid_html
from dashboard.ui.model_charts import class_counts_figure
from dashboard.ui.navigation import start_page
from dashboard.ui.notices import set_notice, show_notice

start_page()

UPLOAD_PREFIX = "upload:"

st.title("Data")
st.markdown(
    "A CNN learns from labelled images. Pick a dataset that needs no network, download a "
    "classic one, or upload your own photos. The Build and Train pages take the image "
    "shape and the number of classes from the dataset you choose here."
)

current = state.get_dataset()
uploads = state.get_uploads()
keys = [c.key for c in dataset_choices()] + [UPLOAD_PREFIX + name for name in uploads]
if current is None:
    current_key = DEFAULT_DATASET
elif not current.shareable:
    current_key = UPLOAD_PREFIX + current.name
else:
    current_key = current.meta.get("choice", DEFAULT_DATASET)


def label(key: str) -> str:
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
        set_notice("pick", "error", str(exc))
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
        set_notice("upload", "error", str(exc))
    else:
        state.add_upload(dataset)
        state.set_dataset(dataset)
        set_notice(
            "upload",
            "success",
            f"Loaded '{upload.name}': {dataset.num_classes} classes, "
            f"{len(dataset.x_train) + len(dataset.x_test):,} images.",
        )


pick_tab, upload_tab = st.tabs(["Pick a dataset", "Upload your own"])

with pick_tab:
    key = st.selectbox(
        "Dataset",
        keys,
        index=keys.index(current_key) if current_key in keys else 0,
        format_func=label,
    )
    choice = get_choice(key)
    options: dict[str, int] = {}
    if choice is not None:
        st.caption(choice.blurb)
    elif key.removeprefix(UPLOAD_PREFIX) in uploads:
        st.caption(uploads[key.removeprefix(UPLOAD_PREFIX)].source)
    if key == "shapes":
        size_col, count_col, seed_col = st.columns(3)
        options["size"] = size_col.selectbox(
            "Image size",
            limits.SHAPES_SIZES,
            index=limits.SHAPES_SIZES.index(32),
            format_func=lambda s: f"{s}×{s}",
        )
        options["count"] = int(
            count_col.number_input(
                "Images",
                min_value=limits.SHAPES_MIN_COUNT,
                max_value=limits.SHAPES_MAX_COUNT,
                value=2000,
                step=500,
                help="Train and test together; 20 % of each shape is kept for testing.",
            )
        )
        options["seed"] = int(
            seed_col.number_input(
                "Seed", min_value=0, max_value=2**31 - 1, value=0, help="Same seed, same images."
            )
        )
    title = choice.title if choice else f"your upload '{key.removeprefix(UPLOAD_PREFIX)}'"
    if needs_download(key):
        verb = "Download"
    elif key == "shapes":
        verb = "Generate"
    else:
        verb = "Use"
    # Callbacks run before the next script run, so the page below already shows the result.
    st.button(
        f"{verb} {title}",
        type="primary",
        key="use_dataset",
        on_click=use_dataset,
        args=(key, options, f"Downloading {title}…" if verb == "Download" else f"Loading {title}…"),
    )
    show_notice("pick")

with upload_tab:
    st.markdown(
        "Upload a **zip of class folders**: `cats/*.jpg`, `dogs/*.jpg`, … (one folder per "
        "class), or `train/<class>/…` with `test/<class>/…` to keep your own test set. "
        "Or upload an **.npz** with `x_train`, `y_train`, `x_test`, `y_test` and optionally "
        "`class_names`, as Keras' `mnist.npz`. Your upload stays in this browser session."
    )
    st.caption(
        f"Limits: {limits.human_bytes(limits.MAX_UPLOAD_BYTES)} per file, "
        f"{limits.MAX_ZIP_ENTRIES:,} files, {limits.human_bytes(limits.MAX_UNCOMPRESSED_BYTES)} "
        f"unpacked ({limits.human_bytes(limits.MAX_ZIP_MEMBER_BYTES)} per file inside), "
        f"{limits.MAX_DECODED_PIXELS_PER_UPLOAD / 1e6:,.0f} million pixels decoded in all, "
        f"{limits.human_bytes(limits.MAX_DATASET_BYTES)} once resized; images over "
        f"{limits.MAX_IMAGE_PIXELS / 1e6:g} megapixels and files that are not images are skipped."
    )
    upload = st.file_uploader("Zip of class folders, or an .npz", type=["zip", "npz"])
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
    st.button(
        "Use this upload",
        type="primary",
        disabled=upload is None,
        key="use_upload",
        on_click=use_upload,
        args=(
            upload,
            UploadOptions(size=size, color=color, fit=fit, test_fraction=test_percent / 100),
        ),
    )
    show_notice("upload")

# Something to look at (and train on) from the first visit: the offline default.
dataset = state.get_dataset_or_default()
st.divider()

st.header(f"Current dataset: {dataset.name}")
st.caption(f"Source: {dataset.source}")
if (note := skipped_summary(dataset)) is not None:
    st.warning(note)
h, w, c = dataset.input_shape
cols = st.columns(4)
cols[0].metric("Train images", f"{len(dataset.x_train):,}")
cols[1].metric("Test images", f"{len(dataset.x_test):,}")
cols[2].metric("Image shape", f"{h} × {w} × {c}")
cols[3].metric("Classes", dataset.num_classes)
st.caption(
    f"Arrays: x_train {dataset.x_train.shape} {dataset.x_train.dtype}, "
    f"x_test {dataset.x_test.shape} {dataset.x_test.dtype}, labels 0..{dataset.num_classes - 1}; "
    f"{'RGB' if c == 3 else 'grayscale'} pixels 0..255."
)

train_counts, test_counts = dataset.class_counts()
st.subheader("Images per class")
st.plotly_chart(
    class_counts_figure(dataset.class_names, train_counts.tolist(), test_counts.tolist()),
    width="stretch",
)

st.subheader("Samples per class")
strips = class_strips(dataset)
if len(strips) < dataset.num_classes:
    st.caption(f"Showing the first {len(strips)} of {dataset.num_classes} classes.")
columns = st.columns(2)
for i, strip in enumerate(strips):
    columns[i % 2].html(
        grid_html(
            [strip.image], [f"{strip.name}: {strip.train_count:,} train, {strip.test_count:,} test"]
        )
    )
