"""Build: stack layers in the sidebar; see every layer's shape, parameters and cost at once."""

import streamlit as st

from dashboard.model.keras_model import keras_code
from dashboard.model.presets import load_preset, preset_names
from dashboard.model.shape_math import FORMULA
from dashboard.model.share_links import spec_from_link_param, spec_to_link_param
from dashboard.model.spec import (
    LAYER_TYPES,
    PARAM_INFO,
    LayerSpec,
    ModelSpec,
    SpecError,
    shape_text,
)
from dashboard.training.admission import training_bytes, training_refusal
from dashboard.ui import state
from dashboard.ui.model_charts import network_figure
from dashboard.ui.navigation import start_page
from dashboard.ui.notices import show_notice

start_page()

spec = state.get_spec()

# A share link (?spec=...) opens its model once; later edits are the user's own.
link = st.query_params.get("spec")
if link and state.spec_source_is_new(state.SPEC_LINK_KEY, link):
    try:
        state.replace_spec(spec_from_link_param(link), "Opened the model from the shared link.")
        spec = state.get_spec()
    except SpecError as exc:
        st.error(f"{exc} Your current model is unchanged.")


def on_load_preset() -> None:
    name = st.session_state["preset_choice"]
    state.replace_spec(load_preset(name), f"Loaded preset **{name}**.")


def on_edit(action: str, index: int) -> None:
    """Structural edits from the per-layer buttons."""
    current = state.get_spec()
    kind = st.session_state["new_layer_type"]
    # Each edit says which layer is selected afterwards, so the editor follows it.
    if action == "up":
        current.move_layer(index, -1)
        index = max(index - 1, 0)
    elif action == "down":
        current.move_layer(index, +1)
        index = min(index + 1, len(current.layers) - 1)
    elif action == "copy":
        current.duplicate_layer(index)
        index += 1
    elif action == "delete":
        current.remove_layer(index)
        index = min(index, len(current.layers) - 1)
    elif action == "insert":
        current.insert_layer(index, LayerSpec(kind))
    elif action == "add":
        current.insert_layer(len(current.layers), LayerSpec(kind))
        index = len(current.layers) - 1
    state.select_layer(max(index, 0))
    state.bump_layer_widgets()


def setting_widget(name: str, value, key: str):
    """One widget for one layer setting, as PARAM_INFO describes it."""
    info = PARAM_INFO[name]
    if len(info) == 2:
        label, choices = info
        return st.selectbox(label, choices, index=choices.index(value), key=key)
    label, low, high, step = info
    value = min(max(value, low), high)  # a loaded spec may hold a value the widget cannot
    return st.number_input(label, min_value=low, max_value=high, value=value, step=step, key=key)


version = state.layer_widget_version()
state.sync_layer_settings(spec)  # labels below show this run's edits, not the last run's

with st.sidebar:
    st.header("Model")
    names = preset_names()
    st.selectbox("Preset", names, key="preset_choice")
    st.button("Load preset", on_click=on_load_preset, width="stretch")

    st.subheader("Input")
    dataset = state.get_dataset()
    use_dataset = dataset is not None and st.toggle(
        f"Shape and classes from dataset '{dataset.name}'", value=True
    )
    if use_dataset:
        spec.input_shape, spec.num_classes = dataset.input_shape, dataset.num_classes
        h, w, c = spec.input_shape
        st.caption(f"{h}×{w}×{c} images, {spec.num_classes} classes")
    else:
        cols = st.columns(3)
        h = cols[0].number_input("Height", 1, 1024, spec.input_shape[0], key=f"in_h{version}")
        w = cols[1].number_input("Width", 1, 1024, spec.input_shape[1], key=f"in_w{version}")
        c = cols[2].number_input("Channels", 1, 4, spec.input_shape[2], key=f"in_c{version}")
        spec.input_shape = (int(h), int(w), int(c))
        spec.num_classes = int(
            st.number_input("Classes", 2, 1000, spec.num_classes, key=f"classes{version}")
        )
    batch_size = st.number_input("Batch size (for the memory estimate)", 1, 4096, 64, step=16)
    state.set_batch_size(batch_size)

    st.subheader("Layers")
    analysis_before = spec.analyze(batch_size)
    selected = state.selected_layer(len(spec.layers))
    if spec.layers:
        marks = ["  ⚠ does not fit" if info.error else "" for info in analysis_before.layers]
        selected = st.radio(
            "Layer to edit",
            range(len(spec.layers)),
            index=selected,
            format_func=lambda i: (
                f"{i + 1}. {spec.layers[i].type} {spec.layers[i].summary()}{marks[i]}"
            ),
            key=f"layer_pick{version}",
        )
        state.select_layer(selected)
        layer = spec.layers[selected]
        with st.container(border=True):
            st.markdown(f"**Layer {selected + 1}: {layer.type}**")
            if analysis_before.layers[selected].error:
                st.error(analysis_before.layers[selected].error)
            for name, value in list(layer.params.items()):
                layer.params[name] = setting_widget(
                    name, value, state.layer_widget_key(selected, name)
                )
            buttons = st.columns(5)
            for col, (action, glyph, tip) in zip(
                buttons,
                [
                    ("up", ":material/arrow_upward:", "Move up"),
                    ("down", ":material/arrow_downward:", "Move down"),
                    ("copy", ":material/content_copy:", "Duplicate"),
                    (
                        "insert",
                        ":material/add:",
                        "Insert a layer of the type below, above this one",
                    ),
                    ("delete", ":material/delete:", "Delete"),
                ],
                strict=True,
            ):
                col.button(
                    glyph,
                    key=f"{action}{version}",
                    help=tip,
                    on_click=on_edit,
                    args=(action, selected),
                )
    else:
        st.info("No hidden layers yet: add one below.")
    st.caption(f"Output: {spec.output_layer().summary()} (follows from {spec.num_classes} classes)")
    st.selectbox("Layer type", LAYER_TYPES, key="new_layer_type")
    st.button("Add layer", on_click=on_edit, args=("add", 0), type="primary", width="stretch")

# --- main area: everything below reflects this run's widget values ---------------
analysis = spec.analyze(batch_size)
st.title("Build a CNN")
show_notice("build")
if spec.description:
    st.caption(spec.description)

for problem in analysis.problems:
    st.error(problem)
for info in analysis.errors:
    st.error(info.error, icon=":material/error:")
    if info.formula:
        st.markdown(f"Output size {FORMULA}: {info.formula}")

rows = [
    {
        "#": "in",
        "Layer": "Input",
        "Settings": "",
        "Output shape": shape_text(spec.input_shape),
        "Parameters": 0,
        "Multiply-adds": 0,
        "Status": "",
    }
]
for info in analysis.layers:
    shape = shape_text(info.output_shape) if info.output_shape else "—"
    rows.append(
        {
            "#": str(info.index),
            "Layer": info.type + (" (output)" if info.is_output else ""),
            "Settings": info.summary,
            "Output shape": shape,
            "Parameters": info.params,
            "Multiply-adds": info.macs,
            "Status": "does not fit" if info.error else ("ok" if info.output_shape else "waiting"),
        }
    )
st.dataframe(rows, hide_index=True, width="stretch")

cols = st.columns(5)
cols[0].metric("Trainable parameters", f"{analysis.trainable_params:,}")
cols[1].metric("Non-trainable", f"{analysis.non_trainable_params:,}")
cols[2].metric("Model size", f"{analysis.model_megabytes:.2f} MB")
cols[3].metric("Multiply-adds / image", f"{analysis.macs / 1e6:,.2f} M")
# The same estimate and verdict as the Train page's Start, with the chosen data.
chosen = state.get_dataset()
data_bytes = chosen.x_train.nbytes if chosen is not None else 0
memory = training_bytes(spec, batch_size, data_bytes)
cols[4].metric(f"Training memory, batch {batch_size}", f"{memory / 1e9:.2f} GB")
refusal = training_refusal(spec, batch_size, data_bytes) if analysis.ok else None
if refusal:
    st.error(f"{refusal} The Train page will not start it as it is.")

st.plotly_chart(network_figure(analysis, spec.input_shape), width="stretch")

st.subheader("Export and share")
cols = st.columns(3)
cols[0].download_button(
    "Download spec (JSON)", spec.to_json(), f"{spec.name}.json", "application/json"
)
cols[1].download_button(
    "Download Keras script", keras_code(spec), f"{spec.name}_model.py", "text/x-python"
)
base = (st.context.url or "").split("?")[0]
share = f"{base}?spec={spec_to_link_param(spec)}"
cols[2].caption("Share link: opens this model for anyone (no runs or data in it).")
st.code(share, language=None)
uploaded = st.file_uploader("Open a spec (.json)", type=["json"], key="spec_upload")
if uploaded is not None and state.spec_source_is_new(state.SPEC_UPLOAD_KEY, uploaded.file_id):
    try:
        state.replace_spec(ModelSpec.from_json(uploaded.getvalue()), f"Opened {uploaded.name}.")
        st.rerun()
    except SpecError as exc:
        st.error(f"{exc} Your current model is unchanged.")
