"""Train: settings, Start/Stop, live curves, and the session's runs."""

import streamlit as st

from dashboard import training
from dashboard.compat import streamlit_cleanup
from dashboard.data.builtins import (
    DEFAULT_DATASET,
    choice_label,
    dataset_choices,
    load_builtin,
    needs_download,
)
from dashboard.data.datasets import DataError
from dashboard.model.spec import SpecError
from dashboard.training import LR_SCHEDULES, OPTIMIZERS, QUEUE, run_compare
from dashboard.training.run import RunStatus
from dashboard.ui import live_charts, live_progress, run_charts, state
from dashboard.ui.navigation import start_page

start_page()
streamlit_cleanup.install()
training.warm_up()  # the import runs while the user picks settings, not after Start
st.title("Train")
spec = state.get_spec()
state.restore_train_widgets()
key = state.train_widget_key

# --- dataset ---------------------------------------------------------------------
dataset = state.get_dataset()
if dataset is not None:
    st.caption(f"Dataset **{dataset.name}**, chosen on the Data page: {dataset.source}.")
else:
    # Built-in data that is here without a download; the Data page has the rest.
    names = [c.key for c in dataset_choices() if not needs_download(c.key)]
    if st.session_state.get(state.TRAIN_DATASET_KEY) not in names:
        st.session_state[state.TRAIN_DATASET_KEY] = DEFAULT_DATASET
    name = st.selectbox(
        "Dataset",
        names,
        key=state.TRAIN_DATASET_KEY,
        format_func=choice_label,
        on_change=state.keep_train_dataset_choice,
        help="Built-in data. Choose others, or upload your own images, on the Data page.",
    )
    try:
        dataset = load_builtin(name)
    except (DataError, KeyError) as exc:
        st.error(f"Could not load the dataset '{name}': {exc} Pick another one.")
if dataset is not None:
    h, w, c = dataset.input_shape
    st.caption(
        f"{len(dataset.x_train):,} training and {len(dataset.x_test):,} test images, "
        f"{h}×{w}×{c}, {dataset.num_classes} classes. Model: "
        f"{run_compare.spec_summary(spec)}."
    )

# --- settings and Start ----------------------------------------------------------
with st.form("train_form", border=True):
    cols = st.columns(4)
    cols[0].selectbox(
        "Optimizer", list(OPTIMIZERS), format_func=OPTIMIZERS.get, key=key("optimizer")
    )
    cols[1].number_input(
        "Learning rate", min_value=1e-6, max_value=10.0, format="%g", key=key("learning_rate")
    )
    cols[2].selectbox(
        "Learning-rate schedule",
        list(LR_SCHEDULES),
        format_func=LR_SCHEDULES.get,
        key=key("lr_schedule"),
        help="Cosine decay lowers the rate smoothly to 0 by the last batch.",
    )
    cols[3].select_slider("Batch size", [8, 16, 32, 64, 128, 256, 512, 1024], key=key("batch_size"))
    cols = st.columns(4)
    cols[0].number_input("Epochs", min_value=1, max_value=200, step=1, key=key("epochs"))
    cols[1].slider(
        "Validation split",
        0.0,
        0.5,
        step=0.05,
        key=key("validation_split"),
        help="Share of the training images held out to watch for overfitting.",
    )
    cols[2].number_input(
        "Seed",
        min_value=0,
        max_value=2**31 - 1,
        step=1,
        key=key("seed"),
        help="Same seed and settings give the same curves.",
    )
    with cols[3]:
        st.checkbox("Early stopping", key=key("early_stopping"))
        st.number_input("Patience (epochs)", 1, 50, step=1, key=key("patience"))
    with st.expander("Augmentation: random changes to each training image"):
        cols = st.columns(4)
        cols[0].checkbox(
            "Flip left–right",
            key=key("flip"),
            help="Fine for photos; it turns digits into mirror images.",
        )
        cols[1].slider("Rotation (± degrees)", 0.0, 45.0, step=1.0, key=key("rotation_degrees"))
        cols[2].slider("Zoom (±)", 0.0, 0.5, step=0.05, key=key("zoom"))
        cols[3].slider("Translation (± share)", 0.0, 0.5, step=0.05, key=key("translation"))
    start = st.form_submit_button("Start training", type="primary", disabled=dataset is None)

settings = state.train_settings_from_widgets()
if start and dataset is not None:
    try:
        run = training.start_run(spec, dataset, settings, owner=state.session_token())
    except SpecError as exc:
        st.error(str(exc))
    else:
        state.add_run(run)
        state.set_focus_run(run.id)

# --- the live run ------------------------------------------------------------------
runs = state.get_runs()
focus = state.get_focus_run()
focus_view = focus.view() if focus is not None else None
# Poll by the same snapshot the heading shows: a page that says "done" but still polled
# once more reran the page the user had gone to next (broken images on Evaluate in CI).
polling = any(r.is_active for r in runs if r is not focus) or (
    focus_view is not None and focus_view.status in training.ACTIVE_STATUSES
)


def run_header(run: training.Run, view: training.RunView) -> None:
    """The live run's heading, Stop, error and notes: they change with its status or
    notes, and the fragment reruns the page when those change."""
    icon = run_compare.STATUS_ICONS.get(view.status, "")
    st.subheader(f"{icon} Run {run.id}: {view.status}")
    where = f" · trains on {view.devices_text}" if view.devices_text else ""
    st.caption(
        f"{run_compare.spec_summary(run.spec)} on {run.dataset_name} · "
        f"{run.train_settings.summary()}{where}"
    )
    if run.is_active:
        st.button("Stop", key=f"stop_{run.id}", on_click=run.stop, icon=":material/stop:")
    if view.error:
        st.error(view.error)
    for note in view.notes:
        st.info(note)


def finished_run_charts(view: training.RunView) -> None:
    """A finished run's last epoch metrics and its interactive Plotly charts, drawn by
    full page runs only: the fragment may poll every second for another run."""
    if view.history:
        for col, (label, value) in zip(
            st.columns(4), live_progress.epoch_metrics(view.history[-1]), strict=False
        ):
            col.metric(label, value)
    if view.batches:
        st.plotly_chart(
            run_charts.batch_curve_figure(view.batches, uirevision=view.id), width="stretch"
        )
    if view.history:
        st.plotly_chart(
            run_charts.epoch_curves_figure(view.history, uirevision=view.id), width="stretch"
        )


@st.fragment(run_every=1.0 if polling else None)
def live_run() -> None:
    """Redrawn every second while a run is queued or training: only what moves."""
    run = state.get_focus_run()
    if run is None:
        st.info("No runs yet: choose the settings above and press **Start training**.")
        return
    view = run.view()
    if view.status == RunStatus.QUEUED and view.queue_position:
        st.info(
            f"Waiting for a free slot: number {view.queue_position} in the queue "
            f"({QUEUE.limit} runs train at once on this server)."
        )
    bar = live_progress.progress_bar_html(view.fraction, live_progress.progress_text(view))
    if view.status in training.ACTIVE_STATUSES:
        st.html(bar + live_progress.last_epoch_html(view.history))
        # Canvases: cheap to redraw every second, and a new epoch needs no full page run.
        live_charts.live_run_charts(
            run.id, view.batches, view.history, state.live_batch_columns(run.id)
        )
    else:
        st.html(bar)  # the full page run draws the charts, below
    if polling and not any(r.is_active for r in state.get_runs()):
        st.rerun()  # a run ended: redraw the whole page once, which stops the polling
    if state.page_out_of_date(view):
        # The heading or notes changed (also when this run ended while another still
        # trains): the full page draws them.
        st.rerun()


if focus_view is not None:
    state.remember_page_drawn(focus_view)  # before the fragment, whose check reads it
    run_header(focus, focus_view)
live_run()
if focus_view is not None and focus_view.status not in training.ACTIVE_STATUSES:
    finished_run_charts(focus_view)

# --- all runs --------------------------------------------------------------------------
st.header("Runs")
if not runs:
    st.caption("Runs you start are listed here; they stay when you reload this page.")
    st.stop()

percent = st.column_config.NumberColumn(format="percent")
selection = st.dataframe(
    run_compare.run_table(runs),
    hide_index=True,
    on_select="rerun",
    selection_mode="multi-row",
    key="runs_table",
    column_config={
        "accuracy": percent,
        "val accuracy": percent,
        "loss": st.column_config.NumberColumn(format="%.4f"),
        "val loss": st.column_config.NumberColumn(format="%.4f"),
    },
)
selected = [runs[i] for i in selection.selection.rows if i < len(runs)]
if not selected:
    st.caption("Select runs in the table to overlay their curves; select two to compare them.")
else:
    series = [(r.id, r.view().history) for r in selected]
    cols = st.columns(2)
    cols[0].plotly_chart(run_charts.overlay_figure(series, "loss"), width="stretch")
    cols[1].plotly_chart(run_charts.overlay_figure(series, "accuracy"), width="stretch")
if len(selected) == 2:
    a, b = selected
    st.subheader(f"Run {a.id} against run {b.id}")
    cols = st.columns(2)
    for col, title, frame in (
        (cols[0], "Layer by layer", run_compare.layer_diff(a, b)),
        (cols[1], "Setting by setting", run_compare.settings_diff(a, b)),
    ):
        col.markdown(f"**{title}** (differences marked)")
        col.dataframe(
            frame.style.apply(
                lambda row: ["background-color: #fde2d8" if row["differs"] else ""] * len(row),
                axis=1,
            ),
            hide_index=True,
            column_config={"differs": st.column_config.CheckboxColumn("differs")},
        )

st.subheader("One run")
ids = [r.id for r in runs]
by_id = {r.id: r for r in runs}
state.prepare_run_choice(ids)
chosen = st.selectbox(
    "Run",
    ids,
    key=state.RUN_CHOICE_KEY,
    format_func=lambda i: by_id[i].label,
    on_change=state.on_run_choice,
    help="The run shown live above, and the one these buttons act on.",
)
run = by_id[chosen]
stem = run_compare.file_stem(run)
cols = st.columns(5)
cols[0].download_button(
    "Model (.keras)",
    data=lambda: run_compare.model_bytes(run),
    file_name=f"{stem}.keras",
    mime="application/octet-stream",
    disabled=run.model is None,
    on_click="ignore",
    help="Ready once the run is done or stopped.",
)
cols[1].download_button(
    "Spec (JSON)", run.spec.to_json(), f"{stem}.json", "application/json", on_click="ignore"
)
cols[2].download_button(
    "History (CSV)", run_compare.history_csv(run), f"{stem}.csv", "text/csv", on_click="ignore"
)
cols[3].button("Stop", key="stop_chosen", on_click=run.stop, disabled=not run.is_active)
cols[4].button(
    "Delete run", key="delete_chosen", on_click=state.delete_run, args=(run.id,), type="secondary"
)
