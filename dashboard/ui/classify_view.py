"""The Classify page's widgets and views: the model picker, the preprocessing options,
the image sources, the results table, the prediction and its explanations.

Each `*_ui()` function draws one part of the page and returns what the user chose;
preparing images, predicting and explaining are in `dashboard.insight`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from dashboard.data import limits
from dashboard.data.preprocess import FIT_HELP, FIT_MODES, INVERT_MODES, Preprocessing
from dashboard.insight import explain, inference, models
from dashboard.insight.inference import ImageError, Prepared
from dashboard.insight.models import Classifier, ModelFileError
from dashboard.insight.prediction import top_k
from dashboard.model.spec import shape_text
from dashboard.ui import model_charts, state
from dashboard.ui.inline_images import grid_html
from dashboard.ui.widget_keys import ClassifyKeys

PRETRAINED, UPLOAD = "pretrained", "upload"
SOURCES = {"upload": "Upload images", "camera": "Camera", "draw": "Draw a digit"}
WAITING = {
    "upload": "Upload one or more images to classify.",
    "camera": "Take a photo to classify.",
    "draw": "Draw a digit on the black square.",
}


@dataclass(frozen=True)
class PickedModel:
    """The model chosen in the Model box: None if it could not be loaded (yet)."""

    choice: str  # PRETRAINED, UPLOAD or a run id; widgets below are keyed by it
    classifier: Classifier | None


# --- the model ------------------------------------------------------------------------


def model_picker_ui() -> PickedModel:
    """The Model box (the newest finished run by default) and the model it loads."""
    runs = [run for run in state.get_runs() if run.model is not None]
    labels = _model_labels(runs)
    choice = st.selectbox(
        "Model",
        list(labels),
        index=1 if runs else 0,  # the newest run, when there is one
        format_func=labels.get,
        help="Runs appear here once they are done or stopped.",
    )
    if choice == PRETRAINED:
        return PickedModel(choice, models.load_pretrained())
    if choice == UPLOAD:
        return PickedModel(choice, _uploaded_model_ui())
    return PickedModel(choice, _run_model(next(run for run in runs if run.id == choice)))


def _model_labels(runs: list[Any]) -> dict[str, str]:
    """Model box options (pretrained, each run, upload) and how each is shown."""
    labels = {PRETRAINED: "Pretrained digits model (ships with CNN Lab)"}
    labels |= {run.id: f"Run: {run.label} [{run.status}]" for run in runs}
    labels[UPLOAD] = "Upload a .keras model"
    return labels


def _uploaded_model_ui() -> Classifier | None:
    """The uploader for a .keras file; a file is loaded once, then kept in the session."""
    model_file = st.file_uploader(
        f"Keras model file (.keras, up to {limits.MAX_MODEL_BYTES // 2**20} MB)",
        type=["keras"],
        key=ClassifyKeys.MODEL_FILE,
    )
    if model_file is None:
        return None
    classifier = state.get_uploaded_model(model_file.file_id)
    if classifier is None:
        try:
            with st.spinner("Loading the model…"):
                classifier = models.load_model_file(model_file.getvalue(), model_file.name)
            state.set_uploaded_model(model_file.file_id, classifier)
        except ModelFileError as exc:
            st.error(str(exc))
    return classifier


def _run_model(run: Any) -> Classifier | None:
    """A run's model as a Classifier; None (with the error shown) if it cannot be used."""
    try:
        return models.from_run(run)
    except ModelFileError as exc:
        st.error(str(exc))
        return None


def missing_model_ui() -> None:
    """Say how to get a model when none is loaded."""
    st.info("Upload a model saved with `model.save('name.keras')`, or choose another model.")


def model_details_ui(picked: PickedModel) -> list[str]:
    """The model's input, classes and size; an uploaded model may be given class names.
    Returns the class names to show."""
    classifier = picked.classifier
    assert classifier is not None  # the page stops while there is no model
    h, w, c = classifier.input_shape
    st.caption(
        f"{classifier.description} Input {h}×{w}×{c}, {classifier.num_classes} classes, "
        f"{classifier.param_count:,} parameters."
    )
    if picked.choice != UPLOAD:
        return classifier.class_names
    typed = st.text_input(
        "Class names (optional, comma-separated, in output order)",
        placeholder=", ".join(classifier.class_names),
    )
    names, warning = inference.class_names_from_text(typed, classifier.class_names)
    if warning:
        st.warning(warning)
    return names


# --- preprocessing ----------------------------------------------------------------------


def _reads_digits(classifier: Classifier) -> bool:
    """One channel and ten classes: a model one can ask about a drawn digit."""
    return classifier.input_shape[2] == 1 and classifier.num_classes == 10


def image_source_ui(classifier: Classifier) -> str:
    """Where the images come from: 'upload', 'camera' or 'draw' ('Draw a digit' only for
    a digits-like model: one channel, ten classes)."""
    labels = {**SOURCES, "draw": SOURCES["draw"] if _reads_digits(classifier) else "Draw"}
    return st.radio("Images", list(labels), format_func=labels.get, horizontal=True)


def preprocessing_ui(picked: PickedModel, source: str) -> Preprocessing:
    """The sidebar's preprocessing options, starting at the model's saved recipe."""
    classifier, choice = picked.classifier, picked.choice
    assert classifier is not None  # the page stops while there is no model
    # Defaults are how the model's training images were prepared.
    saved = classifier.preprocessing
    with st.sidebar:
        st.subheader("Preprocessing")
        st.caption(f"As this model's training images: {saved.describe()}.")
        fit = st.selectbox(
            "Resize to the model's input",
            list(FIT_MODES),
            index=list(FIT_MODES).index(saved.fit),
            format_func=FIT_MODES.get,
            key=ClassifyKeys.fit(choice),
            help=FIT_HELP,
        )
        invert, frame = "never", False
        if classifier.input_shape[2] == 1:
            invert, frame = _digit_options_ui(saved, choice, source)
        background = st.color_picker(
            "Background for transparent pixels",
            inference.hex_color(saved.background),
            key=ClassifyKeys.background(choice),
        )
    return Preprocessing(
        fit=fit, invert=invert, frame=frame, background=inference.rgb_from_hex(background)
    )


def _digit_options_ui(saved: Preprocessing, choice: str, source: str) -> tuple[str, bool]:
    """Inversion and MNIST framing, which only one-channel (digit) models have."""
    invert = st.radio(
        "White-on-black inversion (MNIST style)",
        list(INVERT_MODES),
        index=list(INVERT_MODES).index(saved.invert),
        format_func=INVERT_MODES.get,
        key=ClassifyKeys.invert(choice),
        help="MNIST digits are white on black; a dark digit on white paper is inverted to match.",
    )
    frame = st.checkbox(
        "Centre the digit like MNIST",
        value=saved.frame or source == "draw",
        key=ClassifyKeys.frame(source, choice),
        help="Crop to the strokes, scale them into a 20×20 box and centre them by mass, "
        "as MNIST's digits were prepared.",
    )
    return invert, frame


def top_k_ui(classifier: Classifier) -> int:
    """How many of the best classes the chart shows (in the sidebar)."""
    with st.sidebar:
        return st.slider(
            "Top-k classes", 1, min(10, classifier.num_classes), min(5, classifier.num_classes)
        )


# --- the images ---------------------------------------------------------------------------


def images_ui(source: str, classifier: Classifier, preprocessing: Preprocessing) -> list[Prepared]:
    """The images from `source`, prepared for the model; a message for each bad one, and
    what to do while there is none."""
    files = _files_ui(source)
    prepared, errors = inference.prepare_many(files, classifier.input_shape, preprocessing)
    if source == "draw":
        pixels = _canvas_ui()
        try:
            drawing = inference.prepare_drawing(pixels, classifier.input_shape, preprocessing)
        except ImageError as exc:
            errors.append(str(exc))
        else:
            if drawing is not None:
                prepared.append(drawing)
    for message in errors:
        st.error(message)
    if not prepared and not errors:
        digits = source != "draw" or _reads_digits(classifier)
        st.info(WAITING[source] if digits else "Draw on the black square.")
    return prepared


def _files_ui(source: str) -> list[tuple[str, bytes]]:
    """(name, bytes) of the uploaded images or the camera photo."""
    if source == "upload":
        uploads = st.file_uploader(
            "Images (PNG, JPEG, WebP, BMP or GIF; several at once are fine)",
            type=list(inference.IMAGE_EXTENSIONS),
            accept_multiple_files=True,
            key=ClassifyKeys.IMAGES,
        )
        return [(upload.name, upload.getvalue()) for upload in uploads or []]
    if source == "camera":
        photo = st.camera_input("Take a photo")
        if photo is not None:
            return [("camera photo", photo.getvalue())]
    return []


def _canvas_ui() -> np.ndarray | None:
    """The drawing canvas' RGBA pixels, None until the browser sends them."""
    st.caption("Draw with the mouse; the model answers when you release the button.")
    # The canvas' toolbar (undo, redo, clear) floats about 40 px above it on hover: the
    # space keeps it off the hint.
    st.space("small")
    drawing = st_canvas(
        stroke_width=20,
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=280,
        width=280,
        drawing_mode="freedraw",
        return_image_data=True,
        key=ClassifyKeys.CANVAS,
    )
    return drawing.image_data


# --- the answers ------------------------------------------------------------------------


def results_table_ui(prepared: list[Prepared], probs: np.ndarray, class_names: list[str]) -> int:
    """For several images: their predictions as a table and a CSV, and a box to pick one.
    Returns the index of the image to look closer at."""
    if len(prepared) <= 1:
        return 0
    st.subheader(f"{len(prepared)} images")
    table = inference.results_table(prepared, probs, class_names)
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "image": st.column_config.ImageColumn("image", width="small"),
            "confidence": st.column_config.ProgressColumn(
                "confidence", format="percent", min_value=0.0, max_value=1.0
            ),
        },
    )
    st.download_button(
        "Download predictions (CSV)",
        lambda: inference.predictions_csv(table),  # made on click: see build_view.export_ui
        file_name="predictions.csv",
        mime="text/csv",
        on_click="ignore",
    )
    return st.selectbox(
        "Look closer at",
        range(len(prepared)),
        format_func=lambda i: prepared[i].name,
        key=ClassifyKeys.INSPECT,
    )


def prediction_ui(
    classifier: Classifier, item: Prepared, probs: np.ndarray, class_names: list[str], k: int
) -> str:
    """The user's image, what the model sees and its top-k; returns the predicted class."""
    best = top_k(probs, class_names, k)
    st.subheader(f"Prediction: {best[0][0]} ({best[0][1]:.1%})")
    left, middle, right = st.columns([1, 1, 2])
    left.html(
        grid_html([item.original], [f"Your image: {item.name}"], width="stretch", sharp=False)
    )
    seen = inference.model_view_caption(item, classifier.input_shape)
    middle.html(grid_html([inference.enlarge(item.array)], [seen], width="stretch"))
    right.plotly_chart(model_charts.topk_figure(best), width="stretch", key=ClassifyKeys.TOPK_CHART)
    return best[0][0]


def explanations_ui(
    classifier: Classifier, item: Prepared, class_names: list[str], predicted: str
) -> None:
    """Why the model answered: Grad-CAM, feature maps and the first layer's filters."""
    cam_tab, maps_tab, filters_tab = st.tabs(["Grad-CAM", "Feature maps", "First-layer filters"])
    with cam_tab:
        _grad_cam_ui(classifier, item, class_names, predicted)
    with maps_tab:
        _feature_maps_ui(classifier, item)
    with filters_tab:
        _filters_ui(classifier)


def _grad_cam_ui(
    classifier: Classifier, item: Prepared, class_names: list[str], predicted: str
) -> None:
    """Where the last conv layer found evidence for the predicted or a chosen class."""
    conv = explain.last_conv_layer(classifier)
    if conv is None:
        st.info("This model has no conv layer, so there is no Grad-CAM to show.")
        return
    explained_class = st.selectbox(
        "Explain the class",
        [None, *range(classifier.num_classes)],
        format_func=lambda i: f"predicted ({predicted})" if i is None else class_names[i],
    )
    found = explain.explain_class(classifier, item.array, explained_class)
    st.caption(
        f"Where layer {conv} found evidence for class {class_names[found.target]}: "
        f"red is strong, blue is none ({found.method})."
    )
    if found.why:
        st.info(found.why)
    st.plotly_chart(
        model_charts.gradcam_figure(item.array, found.heatmap),
        width="stretch",
        key=ClassifyKeys.GRADCAM_CHART,
    )


def _feature_maps_ui(classifier: Classifier, item: Prepared) -> None:
    """The feature maps of a chosen conv or pooling layer for this image."""
    maps = explain.feature_maps(classifier, item.array)
    if not maps:
        st.info("This model has no conv or pooling layer, so it makes no feature maps.")
        return
    layer = st.selectbox(
        "Layer",
        list(maps),
        format_func=lambda name: f"{name}: {shape_text(maps[name].shape)}",
    )
    st.caption(
        f"{maps[layer].shape[2]} feature maps of {layer} for this image; each is scaled to "
        "its own range, bright is high."
        + (" The first 64 are shown." if maps[layer].shape[2] > 64 else "")
    )
    st.plotly_chart(
        model_charts.feature_maps_figure(maps[layer]), width="stretch", key=ClassifyKeys.MAPS_CHART
    )


def _filters_ui(classifier: Classifier) -> None:
    """The kernels the first conv layer learned."""
    filters = explain.first_conv_filters(classifier)
    if filters is None:
        st.info("This model has no Conv2D layer, so it has no filters to show.")
        return
    kh, kw, cin, n = filters.shape
    st.caption(
        f"The {n} learned {kh}×{kw} kernels of the first conv layer"
        + (" as colour images." if cin == 3 else "; red weights add, blue subtract.")
    )
    st.plotly_chart(
        model_charts.filters_figure(filters), width="stretch", key=ClassifyKeys.FILTERS_CHART
    )
