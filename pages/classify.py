"""Classify: ask a trained model about new images, and see why it answered."""

import dataclasses

import streamlit as st
from streamlit_drawable_canvas import st_canvas

from dashboard.data import limits
from dashboard.data.preprocess import FIT_HELP, FIT_MODES, INVERT_MODES, Preprocessing
from dashboard.insight import explain, inference, models
from dashboard.insight.inference import ImageError
from dashboard.insight.models import ModelFileError
from dashboard.insight.prediction import predict, top_k
from dashboard.model.spec import shape_text
from dashboard.ui import model_charts, state
from dashboard.ui.inline_images import grid_html
from dashboard.ui.navigation import start_page

start_page()

PRETRAINED, UPLOAD = "pretrained", "upload"
SOURCES = {"upload": "Upload images", "camera": "Camera", "draw": "Draw a digit"}

st.title("Classify")
st.caption(
    "Use a trained model on your own images: see what the model sees, its top guesses, "
    "and why it answered (Grad-CAM, feature maps, learned filters)."
)

# --- the model ----------------------------------------------------------------------
runs = [run for run in state.get_runs() if run.model is not None]
labels = {PRETRAINED: "Pretrained digits model (ships with CNN Lab)"}
labels |= {run.id: f"Run: {run.label} [{run.status}]" for run in runs}
labels[UPLOAD] = "Upload a .keras model"
choice = st.selectbox(
    "Model",
    list(labels),
    index=1 if runs else 0,  # the newest run, when there is one
    format_func=labels.get,
    help="Runs appear here once they are done or stopped.",
)

classifier = None
if choice == PRETRAINED:
    classifier = models.load_pretrained()
elif choice == UPLOAD:
    model_file = st.file_uploader(
        f"Keras model file (.keras, up to {limits.MAX_MODEL_BYTES // 2**20} MB)",
        type=["keras"],
        key="model_file",
    )
    if model_file is not None:
        classifier = state.get_uploaded_model(model_file.file_id)
        if classifier is None:
            try:
                with st.spinner("Loading the model…"):
                    classifier = models.load_model_file(model_file.getvalue(), model_file.name)
                state.set_uploaded_model(model_file.file_id, classifier)
            except ModelFileError as exc:
                st.error(str(exc))
else:
    try:
        classifier = models.from_run(next(run for run in runs if run.id == choice))
    except ModelFileError as exc:
        st.error(str(exc))

if classifier is None:
    st.info("Upload a model saved with `model.save('name.keras')`, or choose another model.")
    st.stop()

h, w, c = classifier.input_shape
class_names = classifier.class_names
st.caption(
    f"{classifier.description} Input {h}×{w}×{c}, {classifier.num_classes} classes, "
    f"{classifier.param_count:,} parameters."
)
if choice == UPLOAD:
    typed = st.text_input(
        "Class names (optional, comma-separated, in output order)",
        placeholder=", ".join(class_names),
    )
    names = [name.strip() for name in typed.split(",") if name.strip()]
    if names and len(names) != len(class_names):
        st.warning(
            f"You gave {len(names)} names but the model has {len(class_names)} classes; "
            "using the class numbers instead."
        )
    elif names:
        class_names = names

# --- preprocessing options ---------------------------------------------------------------
# Defaults are how the model's training images were prepared; a key per model, so
# choosing another model offers its own.
source = st.radio("Images", list(SOURCES), format_func=SOURCES.get, horizontal=True)
saved = classifier.preprocessing
with st.sidebar:
    st.subheader("Preprocessing")
    st.caption(f"As this model's training images: {saved.describe()}.")
    fit = st.selectbox(
        "Resize to the model's input",
        list(FIT_MODES),
        index=list(FIT_MODES).index(saved.fit),
        format_func=FIT_MODES.get,
        key=f"classify_fit_{choice}",
        help=FIT_HELP,
    )
    invert, frame = "never", False
    if c == 1:
        invert = st.radio(
            "White-on-black inversion (MNIST style)",
            list(INVERT_MODES),
            index=list(INVERT_MODES).index(saved.invert),
            format_func=INVERT_MODES.get,
            key=f"classify_invert_{choice}",
            help="MNIST digits are white on black; a dark digit on white paper is inverted "
            "to match.",
        )
        frame = st.checkbox(
            "Centre the digit like MNIST",
            value=saved.frame or source == "draw",
            key=f"frame_{source}_{choice}",
            help="Crop to the strokes, scale them into a 20×20 box and centre them by mass, "
            "as MNIST's digits were prepared.",
        )
    background = st.color_picker(
        "Background for transparent pixels",
        "#{:02X}{:02X}{:02X}".format(*saved.background),
        key=f"classify_background_{choice}",
    )
    k = st.slider(
        "Top-k classes", 1, min(10, classifier.num_classes), min(5, classifier.num_classes)
    )

preprocessing = Preprocessing(
    fit=fit,
    invert=invert,
    frame=frame,
    background=tuple(int(background[i : i + 2], 16) for i in (1, 3, 5)),
)

# --- the images ---------------------------------------------------------------------------
files: list[tuple[str, bytes]] = []
if source == "upload":
    uploads = st.file_uploader(
        "Images (PNG, JPEG, WebP, BMP or GIF; several at once are fine)",
        type=list(inference.IMAGE_EXTENSIONS),
        accept_multiple_files=True,
        key="images",
    )
    files = [(upload.name, upload.getvalue()) for upload in uploads or []]
elif source == "camera":
    photo = st.camera_input("Take a photo")
    if photo is not None:
        files = [("camera photo", photo.getvalue())]

prepared, errors = inference.prepare_many(files, classifier.input_shape, preprocessing)
if source == "draw":
    st.caption("Draw with the mouse; the model answers when you release the button.")
    drawing = st_canvas(
        stroke_width=20,
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=280,
        width=280,
        drawing_mode="freedraw",
        return_image_data=True,
        key="digit_canvas",
    )
    pixels = drawing.image_data
    if pixels is not None and not inference.is_blank(pixels):
        try:
            # The canvas is white on black: transparent pixels are its black ground.
            prepared.append(
                inference.prepare_array(
                    pixels,
                    classifier.input_shape,
                    dataclasses.replace(preprocessing, background=(0, 0, 0)),
                    name="drawing",
                )
            )
        except ImageError as exc:
            errors.append(str(exc))

for message in errors:
    st.error(message)
if not prepared:
    if not errors:
        st.info(
            {
                "upload": "Upload one or more images to classify.",
                "camera": "Take a photo to classify.",
                "draw": "Draw a digit on the black square.",
            }[source]
        )
    st.stop()

probs = predict(classifier.model, [item.array for item in prepared])

# --- many images: a table -------------------------------------------------------------------
index = 0
if len(prepared) > 1:
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
        table.drop(columns="image").to_csv(index=False),
        file_name="predictions.csv",
        mime="text/csv",
    )
    index = st.selectbox(
        "Look closer at",
        range(len(prepared)),
        format_func=lambda i: prepared[i].name,
        key="inspect",
    )

# --- one image: what the model sees and says ------------------------------------------------
item, p = prepared[index], probs[index]
best = top_k(p, class_names, k)
st.subheader(f"Prediction: {best[0][0]} ({best[0][1]:.1%})")
left, middle, right = st.columns([1, 1, 2])
left.html(grid_html([item.original], [f"Your image: {item.name}"], width="stretch", sharp=False))
seen = f"What the model sees: {h}×{w}, {'grayscale' if c == 1 else 'RGB'}"
if item.inverted:
    seen += ", inverted to white on black"
middle.html(grid_html([inference.enlarge(item.array)], [seen], width="stretch"))
right.plotly_chart(model_charts.topk_figure(best), width="stretch", key="topk")

cam_tab, maps_tab, filters_tab = st.tabs(["Grad-CAM", "Feature maps", "First-layer filters"])
with cam_tab:
    conv = explain.last_conv_layer(classifier)
    if conv is None:
        st.info("This model has no conv layer, so there is no Grad-CAM to show.")
    else:
        explained_class = st.selectbox(
            "Explain the class",
            [None, *range(classifier.num_classes)],
            format_func=lambda i: f"predicted ({best[0][0]})" if i is None else class_names[i],
        )
        cam, target = explain.grad_cam(classifier, item.array, explained_class)
        st.caption(
            f"Where layer {conv} found evidence for class {class_names[target]}: "
            "red is strong, blue is none (Grad-CAM)."
        )
        if cam.max() == 0:
            st.info(
                f"Nothing in layer {conv} raises the score of {class_names[target]} "
                "for this image, so the map is empty."
            )
        st.plotly_chart(
            model_charts.gradcam_figure(item.array, cam), width="stretch", key="gradcam"
        )

with maps_tab:
    maps = explain.feature_maps(classifier, item.array)
    if not maps:
        st.info("This model has no conv or pooling layer, so it makes no feature maps.")
    else:
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
        st.plotly_chart(model_charts.feature_maps_figure(maps[layer]), width="stretch", key="maps")

with filters_tab:
    kernels = explain.first_conv_filters(classifier)
    if kernels is None:
        st.info("This model has no Conv2D layer, so it has no filters to show.")
    else:
        kh, kw, cin, n = kernels.shape
        st.caption(
            f"The {n} learned {kh}×{kw} kernels of the first conv layer"
            + (" as colour images." if cin == 3 else "; red weights add, blue subtract.")
        )
        st.plotly_chart(model_charts.filters_figure(kernels), width="stretch", key="filters")
