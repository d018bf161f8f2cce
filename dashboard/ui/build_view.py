"""The Build page's pieces: the sidebar's preset, input and layer editors, and the main
area's problems, layer table, totals, exports and spec upload. pages/build.py calls them
in order; the numbers come from dashboard.model."""

from __future__ import annotations

import streamlit as st

from dashboard.model.analysis import Analysis, LayerInfo, layer_table, model_metrics
from dashboard.model.keras_model import keras_code
from dashboard.model.presets import edited_from_preset, load_preset, preset_names
from dashboard.model.shape_math import FORMULA
from dashboard.model.share_links import spec_from_link_param, spec_to_link_param
from dashboard.model.spec import LAYER_TYPES, PARAM_INFO, LayerSpec, ModelSpec, SpecError
from dashboard.training.admission import training_bytes, training_refusal
from dashboard.ui import state
from dashboard.ui.widget_keys import BuildKeys

# (action, icon, help) of the buttons under the selected layer, left to right.
# (action, label, icon, tooltip), two to a row: five icon-only buttons in the sidebar's
# width were clipped to dots, and three to a row still cut their labels.
LAYER_EDIT_BUTTONS = (
    (
        ("up", "Up", ":material/arrow_upward:", "Move this layer up"),
        ("down", "Down", ":material/arrow_downward:", "Move this layer down"),
    ),
    (
        ("copy", "Copy", ":material/content_copy:", "Duplicate this layer"),
        ("insert", "Insert", ":material/add:", "Insert a layer of the type below, above this one"),
    ),
    (("delete", "Delete", ":material/delete:", "Delete this layer"),),
)


def shared_link_ui(spec: ModelSpec) -> ModelSpec:
    """Open a share link (?spec=...) once; later edits are the user's own."""
    link = st.query_params.get("spec")
    if link and state.spec_source_is_new(state.SPEC_LINK_KEY, link):
        try:
            state.replace_spec(spec_from_link_param(link), "Opened the model from the shared link.")
            return state.get_spec()
        except SpecError as exc:
            st.error(f"{exc} Your current model is unchanged.")
    return spec


def preset_ui(spec: ModelSpec) -> ModelSpec:
    """Sidebar: the preset chooser; returns the loaded preset, or `spec` if none was loaded."""
    st.header("Model")
    name = st.selectbox("Preset", preset_names(), key=BuildKeys.PRESET)
    # A click applies here, not in a callback: a callback would get the preset shown
    # on the last run, not the one chosen in the same interaction.
    if st.button("Load preset", width="stretch"):
        state.replace_spec(load_preset(name), f"Loaded preset **{name}**.")
        return state.get_spec()
    return spec


def model_input_ui(spec: ModelSpec) -> int:
    """Sidebar: image shape and classes (from the dataset or typed in); returns the batch size."""
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
        typed_input_ui(spec)
        if dataset is not None and (
            tuple(spec.input_shape) != dataset.input_shape
            or spec.num_classes != dataset.num_classes
        ):
            h, w, c = dataset.input_shape
            st.caption(
                f"The Data page's '{dataset.name}' has {h}×{w}×{c} images in "
                f"{dataset.num_classes} classes: the Train page will fit this model to them."
            )
    batch_size = st.number_input("Batch size (for the memory estimate)", 1, 4096, 64, step=16)
    state.set_batch_size(batch_size)
    return batch_size


def typed_input_ui(spec: ModelSpec) -> None:
    """Height, width, channels and classes typed in; written into `spec`."""
    version = state.layer_widget_version()
    cols = st.columns(3)
    h = cols[0].number_input(
        "Height", 1, 1024, spec.input_shape[0], key=BuildKeys.input_size("h", version)
    )
    w = cols[1].number_input(
        "Width", 1, 1024, spec.input_shape[1], key=BuildKeys.input_size("w", version)
    )
    c = cols[2].number_input(
        "Channels", 1, 4, spec.input_shape[2], key=BuildKeys.input_size("c", version)
    )
    spec.input_shape = (int(h), int(w), int(c))
    spec.num_classes = int(
        st.number_input("Classes", 2, 1000, spec.num_classes, key=BuildKeys.classes(version))
    )


def layers_ui(spec: ModelSpec, batch_size: int) -> None:
    """Sidebar: pick a layer, edit its settings, move or add layers."""
    st.subheader("Layers")
    analysis = spec.analyze(batch_size)
    edit = None
    if spec.layers:
        selected = layer_picker_ui(spec, analysis)
        with st.container(border=True):
            layer_settings_ui(spec.layers[selected], selected, analysis.layers[selected])
            action = layer_edit_buttons_ui()
        if action:
            edit = (action, selected)
    else:
        st.info("No hidden layers yet: add one below.")
    st.caption(f"Output: {spec.output_layer().summary()} (follows from {spec.num_classes} classes)")
    kind = st.selectbox("Layer type", LAYER_TYPES, key=BuildKeys.NEW_LAYER_TYPE)
    if st.button("Add layer", type="primary", width="stretch"):
        edit = ("add", 0)
    # Edits apply once the layer type is known, so "insert" and "add" use the type
    # chosen in this same interaction; the rerun draws the edited model.
    if edit:
        apply_layer_edit(spec, *edit, kind)
        st.rerun()


def layer_picker_ui(spec: ModelSpec, analysis: Analysis) -> int:
    """The radio of layers, marking those that do not fit; returns the selected index."""
    marks = ["  ⚠ does not fit" if info.error else "" for info in analysis.layers]
    selected = st.radio(
        "Layer to edit",
        range(len(spec.layers)),
        index=state.selected_layer(len(spec.layers)),
        format_func=lambda i: (
            f"{i + 1}. {spec.layers[i].type} {spec.layers[i].summary()}{marks[i]}"
        ),
        key=BuildKeys.layer_pick(state.layer_widget_version()),
    )
    state.select_layer(selected)
    return selected


def layer_settings_ui(layer: LayerSpec, index: int, info: LayerInfo) -> None:
    """The selected layer's name, its error if it does not fit, and one widget per setting."""
    st.markdown(f"**Layer {index + 1}: {layer.type}**")
    if info.error:
        st.error(info.error)
    for name, value in list(layer.params.items()):
        layer.params[name] = setting_widget(name, value, state.layer_widget_key(index, name))


def setting_widget(name: str, value, key: str):
    """One widget for one layer setting, as PARAM_INFO describes it."""
    info = PARAM_INFO[name]
    if len(info) == 2:
        label, choices = info
        return st.selectbox(label, choices, index=choices.index(value), key=key)
    label, low, high, step = info
    value = min(max(value, low), high)  # a loaded spec may hold a value the widget cannot
    return st.number_input(label, min_value=low, max_value=high, value=value, step=step, key=key)


def layer_edit_buttons_ui() -> str | None:
    """The row of edit buttons under the selected layer; returns the clicked action."""
    version = state.layer_widget_version()
    clicked = None
    for row in LAYER_EDIT_BUTTONS:
        for col, (action, label, icon, tip) in zip(st.columns(len(row)), row, strict=True):
            key = BuildKeys.layer_edit(action, version)
            if col.button(label, icon=icon, key=key, help=tip, width="stretch"):
                clicked = action
    return clicked


def apply_layer_edit(spec: ModelSpec, action: str, index: int, kind: str) -> None:
    """Apply a structural edit and select the layer it leaves in the editor."""
    if action == "up":
        spec.move_layer(index, -1)
        index = max(index - 1, 0)
    elif action == "down":
        spec.move_layer(index, +1)
        index = min(index + 1, len(spec.layers) - 1)
    elif action == "copy":
        spec.duplicate_layer(index)
        index += 1
    elif action == "delete":
        spec.remove_layer(index)
        index = min(index, len(spec.layers) - 1)
    elif action == "insert":
        spec.insert_layer(index, LayerSpec(kind))
    elif action == "add":
        spec.insert_layer(len(spec.layers), LayerSpec(kind))
        index = len(spec.layers) - 1
    state.select_layer(max(index, 0))
    state.bump_layer_widgets()


def forget_stale_description(spec: ModelSpec) -> None:
    """Once the layers are edited away from the preset's, its description (shown under
    the title and saved in the exported spec) no longer describes this model."""
    if spec.description and edited_from_preset(spec):
        spec.description = ""


def problems_ui(analysis: Analysis) -> None:
    """Every settings problem and every layer that does not fit, with its formula."""
    for problem in analysis.problems:
        st.error(problem)
    for info in analysis.errors:
        st.error(info.error, icon=":material/error:")
        if info.formula:
            st.markdown(f"Output size {FORMULA}: {info.formula}")


def layer_table_ui(spec: ModelSpec, analysis: Analysis) -> None:
    """One row per layer: settings, output shape, parameters, cost and status."""
    st.dataframe(layer_table(spec, analysis), hide_index=True, width="stretch")


def totals_ui(spec: ModelSpec, analysis: Analysis) -> None:
    """Parameters, size, cost and training memory, and whether Train would refuse it."""
    # The same estimate and verdict as the Train page's Start, with the chosen data.
    chosen = state.get_dataset()
    data_bytes = chosen.x_train.nbytes if chosen is not None else 0
    batch_size = analysis.batch_size
    memory = training_bytes(spec, batch_size, data_bytes, analysis)
    for col, (label, value) in zip(st.columns(5), model_metrics(analysis, memory), strict=True):
        col.metric(label, value)
    refusal = training_refusal(spec, batch_size, data_bytes) if analysis.ok else None
    if refusal:
        st.error(f"{refusal} The Train page will not start it as it is.")


def export_ui(spec: ModelSpec) -> None:
    """Downloads of the spec and its Keras script, and the share link."""
    st.subheader("Export and share")
    cols = st.columns(3)
    # Made on click (a callable): a file made on every rerun is gone from the server
    # when the next rerun replaces it, and the browser then reports its address missing.
    cols[0].download_button(
        "Download spec (JSON)",
        spec.to_json,
        f"{spec.name}.json",
        "application/json",
        on_click="ignore",
    )
    cols[1].download_button(
        "Download Keras script",
        lambda: keras_code(spec),
        f"{spec.name}_model.py",
        "text/x-python",
        on_click="ignore",
    )
    base = (st.context.url or "").split("?")[0]
    cols[2].caption("Share link: opens this model for anyone (no runs or data in it).")
    st.code(f"{base}?spec={spec_to_link_param(spec)}", language=None)


def spec_upload_ui() -> None:
    """Open a spec from a .json file, once per file; a bad file keeps the current model."""
    uploaded = st.file_uploader("Open a spec (.json)", type=["json"], key=BuildKeys.SPEC_UPLOAD)
    if uploaded is not None and state.spec_source_is_new(state.SPEC_UPLOAD_KEY, uploaded.file_id):
        try:
            state.replace_spec(ModelSpec.from_json(uploaded.getvalue()), f"Opened {uploaded.name}.")
            st.rerun()
        except SpecError as exc:
            st.error(f"{exc} Your current model is unchanged.")
