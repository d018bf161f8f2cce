"""The Train page's pieces: the dataset line, the settings form and Start, the live run
(its heading, the fragment that redraws it while it trains, its charts once it ended),
the runs table with its overlay and two-run diff, and one run's downloads and buttons.
pages/train.py calls them in order; the texts and tables come from training.run_compare."""

from __future__ import annotations

import streamlit as st

from dashboard import training
from dashboard.data.builtins import (
    choice_label,
    dataset_choices,
    load_builtin,
    needs_download,
)
from dashboard.data.datasets import DataError, Dataset
from dashboard.model.presets import preset_train_settings
from dashboard.model.spec import ModelSpec, SpecError
from dashboard.training import (
    LR_SCHEDULES,
    OPTIMIZERS,
    QUEUE,
    Run,
    RunView,
    TrainSettings,
    run_compare,
)
from dashboard.training.run import RunStatus
from dashboard.training.start import adaptation_preview
from dashboard.ui import live_charts, live_progress, run_charts, state, tab_session
from dashboard.ui.widget_keys import TrainKeys

BATCH_SIZES = [8, 16, 32, 64, 128, 256, 512, 1024]
LIVE_REFRESH_SECONDS = 1.0
DIFF_HIGHLIGHT = "background-color: #fde2d8"


# --- dataset ---------------------------------------------------------------------------


def train_dataset_ui(spec: ModelSpec) -> Dataset | None:
    """The Data page's dataset, else a built-in one picked here, and a line on it and the
    model; None if the picked one cannot load."""
    dataset = state.get_dataset()
    if dataset is not None:
        st.caption(f"Dataset **{dataset.name}**, chosen on the Data page: {dataset.source}.")
    else:
        dataset = builtin_dataset_ui()
    if dataset is not None:
        st.caption(run_compare.dataset_and_model_text(dataset, spec))
    return dataset


def builtin_dataset_ui() -> Dataset | None:
    """A picker of the built-in data that is here without a download; the Data page has
    the rest. None, with an error, if the one picked cannot load."""
    names = [c.key for c in dataset_choices() if not needs_download(c.key)]
    state.prepare_train_dataset_choice(names)
    name = st.selectbox(
        "Dataset",
        names,
        key=TrainKeys.DATASET,
        format_func=choice_label,
        on_change=state.keep_train_dataset_choice,
        help="Built-in data. Choose others, or upload your own images, on the Data page.",
    )
    try:
        return load_builtin(name)
    except (DataError, KeyError) as exc:
        st.error(f"Could not load the dataset '{name}': {exc} Pick another one.")
        return None


# --- settings and Start --------------------------------------------------------------


def preset_recipe_ui(spec: ModelSpec) -> None:
    """When the model is a preset made with its own Train settings, offer them (once the
    widgets show other settings)."""
    recipe = preset_train_settings(spec.name)
    if recipe is None:
        return
    settings = TrainSettings.from_dict(recipe)
    if settings == state.get_train_settings():
        st.caption(f"The settings below are the recipe of the preset **{spec.name}**.")
        return
    left, right = st.columns([3, 1], vertical_alignment="center")
    left.caption(f"The preset **{spec.name}** was made to train with: {settings.summary()}.")
    right.button(
        "Use its settings",
        key=TrainKeys.USE_RECIPE,
        on_click=state.use_train_settings,
        args=(settings,),
        width="stretch",
    )


def train_form_ui(spec: ModelSpec, dataset: Dataset | None) -> tuple[TrainSettings, bool]:
    """The settings and Start; returns the settings they show and whether Start was
    pressed. Not an st.form: there Enter in a number field submitted the form, so
    typing 12 + Enter and then Start made two runs. Here Enter only applies the value."""
    with st.container(border=True):
        optimizer_inputs()
        epochs_and_validation_inputs()
        with st.expander("Augmentation: random changes to each training image"):
            augmentation_inputs()
        settings = state.train_settings_from_widgets()
        # These hide in the expander and carry over from run to run: say them outside.
        if settings.extras_summary():
            st.caption(f"On for the next run: {settings.extras_summary()}.")
        # Said before Start, next to it: a model built for other data is adapted to this.
        preview = adaptation_preview(spec, dataset) if dataset is not None else None
        if preview:
            st.warning(preview, icon=":material/swap_horiz:")
        started = st.button(
            "Start training", key=TrainKeys.START, type="primary", disabled=dataset is None
        )
    return settings, started


def optimizer_inputs() -> None:
    """First row: optimizer, learning rate, its schedule, batch size."""
    key = TrainKeys.setting
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
    cols[3].select_slider("Batch size", BATCH_SIZES, key=key("batch_size"))


def epochs_and_validation_inputs() -> None:
    """Second row: epochs, validation split, seed, early stopping."""
    key = TrainKeys.setting
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
        stopping = st.checkbox("Early stopping", key=key("early_stopping"))
        st.number_input(
            "Patience (epochs)",
            1,
            50,
            step=1,
            key=key("patience"),
            disabled=not stopping,
            help="Epochs without a better validation loss before training stops.",
        )


def augmentation_inputs() -> None:
    """Flip, rotation, zoom and translation of each training image."""
    key = TrainKeys.setting
    cols = st.columns(4)
    cols[0].checkbox(
        "Flip left–right",
        key=key("flip"),
        help="Fine for photos; it turns digits into mirror images.",
    )
    cols[1].slider("Rotation (± degrees)", 0.0, 45.0, step=1.0, key=key("rotation_degrees"))
    cols[2].slider("Zoom (±)", 0.0, 0.5, step=0.05, key=key("zoom"))
    cols[3].slider("Translation (± share)", 0.0, 0.5, step=0.05, key=key("translation"))


def start_run_ui(
    spec: ModelSpec, dataset: Dataset, settings: TrainSettings, choice: str | None = None
) -> None:
    """Start a run and show it live; a spec that cannot take the data says why. An
    identical run of this session that is still going is asked about first: the new run
    may follow its training or train separately (`choice`)."""
    twin = state.identical_active_run(spec, dataset.name, settings)
    if twin is not None and choice is None:
        twin_warning_ui(twin, dataset)
        return
    start_and_focus(spec, dataset, settings, share=choice != state.START_SEPARATE)


def twin_warning_ui(twin: Run, dataset: Dataset) -> None:
    """Ask before starting a run identical to one of this session's that is going: it
    may follow that run's training (when that one is shared) or train separately."""
    where = f"Run {twin.id} is already {twin.status} with this model on {dataset.name} and these settings."
    if not (dataset.shareable and twin.fingerprint is not None):  # nothing to follow
        st.warning(f"{where} Another run trains again and should give the same curves. Start it?")
        st.button("Start another", key=TrainKeys.START_AGAIN, on_click=state.confirm_start,
                  args=(state.START_SEPARATE,))  # fmt: skip
        return
    st.warning(
        f"{where} A second run would follow its training and show the same curves; train "
        "separately to see the same seed give the same curves twice."
    )
    choices = (
        ("Follow it", TrainKeys.START_AGAIN, state.START_FOLLOW),
        ("Train separately", TrainKeys.START_SEPARATE, state.START_SEPARATE),
    )
    for column, (label, key, choice_made) in zip(st.columns(2), choices, strict=True):
        column.button(
            label, key=key, on_click=state.confirm_start, args=(choice_made,), width="stretch"
        )


def start_and_focus(
    spec: ModelSpec, dataset: Dataset, settings: TrainSettings, *, share: bool = True
) -> bool:
    """Start a run of this session and show it live; an error says why (False)."""
    try:
        run = training.start_run(
            spec, dataset, settings, owner=tab_session.session_token(), share=share
        )
    except SpecError as exc:
        st.error(str(exc))
        return False
    state.add_run(run)
    state.set_focus_run(run.id)
    return True


# --- the live run ---------------------------------------------------------------------


def live_run_ui(runs: list[Run]) -> None:
    """The run shown live: its heading, the part redrawn every second while one of `runs`
    is queued or training, and once it ended, its metrics and interactive charts."""
    focus = state.get_focus_run()
    focus_view = focus.view() if focus is not None else None
    polling = needs_polling(runs, focus, focus_view)
    if focus_view is not None:
        state.remember_page_drawn(focus_view)  # before the fragment, whose check reads it
        run_header(focus, focus_view)
    st.fragment(live_run, run_every=LIVE_REFRESH_SECONDS if polling else None)(polling)
    if focus_view is not None and focus_view.status not in training.ACTIVE_STATUSES:
        finished_run_charts(focus_view)


def needs_polling(runs: list[Run], focus: Run | None, focus_view: RunView | None) -> bool:
    """Whether the live part must redraw itself: some run is queued or training."""
    # The live run is judged by the snapshot its heading shows: a page that says "done"
    # but still polled once more reran the page the user had gone to next (broken
    # images on Evaluate in CI).
    return any(r.is_active for r in runs if r is not focus) or (
        focus_view is not None and focus_view.status in training.ACTIVE_STATUSES
    )


def run_header(run: Run, view: RunView) -> None:
    """The live run's heading, Stop, error and notes: they change with its status or
    notes, and the fragment reruns the page when those change."""
    st.subheader(run_compare.run_heading(view))
    st.caption(run_compare.run_caption(run, view))
    if run.is_active:
        st.button(
            "Stop",
            key=TrainKeys.stop(run.id),
            on_click=run.stop,
            icon=":material/stop:",
            disabled=view.stopping,
        )
    if view.error:
        st.error(view.error)
    for note in view.notes:
        st.info(note)
    if (view.follows or run.cached) and run.dataset is not None:
        train_separately_ui(run)


def train_separately_ui(run: Run) -> None:
    """For a run that followed or reused an identical training: a real second one."""
    if st.button(
        "Train separately",
        key=TrainKeys.train_separately(run.id),
        icon=":material/replay:",
        help="Train the same model on the same data with the same settings and seed "
        "again, on its own: the seed fixes the first weights and the order of the images, "
        "so the curves should come out the same.",
    ) and start_and_focus(run.spec, run.dataset, run.train_settings, share=False):
        st.rerun()


def live_run(polling: bool) -> None:
    """The fragment, redrawn every second while a run is queued or training: only what
    moves."""
    run = state.get_focus_run()
    if run is None:
        st.info("No runs yet: choose the settings above and press **Start training**.")
        return
    view = run.view()
    if view.status == RunStatus.QUEUED and view.queue_position:
        st.info(run_compare.queue_text(view.queue_position, QUEUE.limit))
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


def finished_run_charts(view: RunView) -> None:
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


# --- all runs ---------------------------------------------------------------------------


def runs_table_ui(runs: list[Run]) -> list[Run]:
    """The session's runs, one row each; returns the runs selected in the table."""
    percent = st.column_config.NumberColumn(format="percent")
    loss = st.column_config.NumberColumn(format="%.4f")
    selection = st.dataframe(
        run_compare.run_table(runs),
        hide_index=True,
        on_select="rerun",
        selection_mode="multi-row",
        key=TrainKeys.RUNS_TABLE,
        column_config={
            "accuracy": percent,
            "val accuracy": percent,
            "loss": loss,
            "val loss": loss,
        },
    )
    return [runs[i] for i in selection.selection.rows if i < len(runs)]


def selected_runs_ui(selected: list[Run]) -> None:
    """The selected runs' curves overlaid, and with two selected, their differences."""
    if not selected:
        st.caption("Select runs in the table to overlay their curves; select two to compare them.")
    else:
        series = [(r.id, r.view().history) for r in selected]
        cols = st.columns(2)
        cols[0].plotly_chart(run_charts.overlay_figure(series, "loss"), width="stretch")
        cols[1].plotly_chart(run_charts.overlay_figure(series, "accuracy"), width="stretch")
    if len(selected) == 2:
        run_diff_ui(*selected)


def run_diff_ui(a: Run, b: Run) -> None:
    """Two runs side by side, layer by layer and setting by setting, differences marked."""
    st.subheader(f"Run {a.id} against run {b.id}")
    cols = st.columns(2)
    for col, title, frame in (
        (cols[0], "Layer by layer", run_compare.layer_diff(a, b)),
        (cols[1], "Setting by setting", run_compare.settings_diff(a, b)),
    ):
        col.markdown(f"**{title}** (differences marked)")
        col.dataframe(
            frame.style.apply(
                lambda row: [DIFF_HIGHLIGHT if row["differs"] else ""] * len(row), axis=1
            ),
            hide_index=True,
            column_config={"differs": st.column_config.CheckboxColumn("differs")},
        )


# --- one run ----------------------------------------------------------------------------


def run_choice_ui(runs: list[Run]) -> Run:
    """Pick one run (the live one at first); picking one also shows it live."""
    by_id = {r.id: r for r in runs}
    state.prepare_run_choice(list(by_id))
    chosen = st.selectbox(
        "Run",
        list(by_id),
        key=TrainKeys.RUN_CHOICE,
        format_func=lambda run_id: by_id[run_id].label,
        on_change=state.on_run_choice,
        help="The run shown live above, and the one these buttons act on.",
    )
    return by_id[chosen]


def run_actions_ui(run: Run) -> None:
    """One run's downloads (model, spec, history), Stop and Delete."""
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
    # Each file is made on click (a callable), not on every rerun (see build_view.export_ui).
    cols[1].download_button(
        "Spec (JSON)", run.spec.to_json, f"{stem}.json", "application/json", on_click="ignore"
    )
    cols[2].download_button(
        "History (CSV)",
        lambda: run_compare.history_csv(run),
        f"{stem}.csv",
        "text/csv",
        on_click="ignore",
    )
    cols[3].button("Stop", key=TrainKeys.STOP_CHOSEN, on_click=run.stop, disabled=not run.is_active)
    cols[4].button(
        "Delete run",
        key=TrainKeys.DELETE_CHOSEN,
        on_click=state.delete_run,
        args=(run.id,),
        type="secondary",
    )
