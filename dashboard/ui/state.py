"""The one place that reads and writes st.session_state.

Pages and other modules ask here for the current spec, dataset and runs, so
the keys and their defaults live in one file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from dashboard.data.builtins import DEFAULT_DATASET, load_builtin
from dashboard.data.datasets import Dataset
from dashboard.data.limits import MAX_UPLOADS_PER_SESSION
from dashboard.insight.evaluation import Evaluation, evaluate_run
from dashboard.model.presets import load_preset
from dashboard.model.spec import ModelSpec
from dashboard.training import Run, RunView, TrainSettings, collect_garbage_if_idle
from dashboard.ui import live_progress, sessions
from dashboard.ui.batch_series import BatchColumns
from dashboard.ui.evaluation_charts import confusion_cell_from_selection
from dashboard.ui.tab_session import keep, session_token

if TYPE_CHECKING:
    from dashboard.insight.models import Classifier

SPEC_KEY = "spec"
BATCH_SIZE_KEY = "batch_size"
DEFAULT_PRESET = "default"


def get_spec() -> ModelSpec:
    """The model being built; starts as the default preset."""
    if SPEC_KEY not in st.session_state:
        keep(SPEC_KEY, load_preset(DEFAULT_PRESET))  # edited in place from now on
    return st.session_state[SPEC_KEY]


def set_spec(spec: ModelSpec) -> None:
    keep(SPEC_KEY, spec)


def set_batch_size(batch_size: int) -> None:
    keep(BATCH_SIZE_KEY, int(batch_size))


# --- build page -------------------------------------------------------------------
# Layer widgets are keyed by a version that changes on every structural edit
# (load, insert, move, delete), so widgets never carry a value to the wrong layer.
LAYER_VERSION_KEY = "layer_widget_version"
SPEC_UPLOAD_KEY = "applied_spec_upload"
SPEC_LINK_KEY = "applied_spec_link"


def layer_widget_version() -> int:
    return st.session_state.get(LAYER_VERSION_KEY, 0)


def replace_spec(spec: ModelSpec, message: str | None = None) -> None:
    """Swap in a whole new spec (preset, upload, link) and reset the layer widgets."""
    set_spec(spec)
    bump_layer_widgets()
    if message:
        set_notice("build", "success", message)


SELECTED_LAYER_KEY = "selected_layer"


def selected_layer(layer_count: int) -> int:
    """Index of the layer open in the editor, kept within the model."""
    return min(st.session_state.get(SELECTED_LAYER_KEY, 0), max(layer_count - 1, 0))


def select_layer(index: int) -> None:
    st.session_state[SELECTED_LAYER_KEY] = index


def layer_widget_key(index: int, setting: str) -> str:
    return f"L{layer_widget_version()}_{index}_{setting}"


def sync_layer_settings(spec: ModelSpec) -> None:
    """Copy values the user just changed in layer widgets into the spec."""
    for i, layer in enumerate(spec.layers):
        for name in layer.params:
            key = layer_widget_key(i, name)
            if key in st.session_state:
                layer.params[name] = st.session_state[key]


def bump_layer_widgets() -> None:
    st.session_state[LAYER_VERSION_KEY] = layer_widget_version() + 1


def spec_source_is_new(key: str, source_id: str) -> bool:
    """True once per upload or link, so re-runs don't overwrite later edits."""
    if st.session_state.get(key) == source_id:
        return False
    st.session_state[key] = source_id
    return True


# --- dataset --------------------------------------------------------------------
DATASET_KEY = "dataset"


def get_dataset() -> Dataset | None:
    """The dataset this session chose on the Data page, if any."""
    return st.session_state.get(DATASET_KEY)


def set_dataset(dataset: Dataset) -> None:
    keep(DATASET_KEY, dataset)


def get_dataset_or_default() -> Dataset:
    """The chosen dataset, or the offline default (digits 28×28) so a page can always train."""
    dataset = get_dataset()
    if dataset is None:
        dataset = load_builtin(DEFAULT_DATASET)
        set_dataset(dataset)
    return dataset


UPLOADS_KEY = "uploaded_datasets"


def get_uploads() -> dict[str, Dataset]:
    """This session's uploaded datasets by name, oldest first. Only this session sees them."""
    return dict(st.session_state.get(UPLOADS_KEY, {}))


def add_upload(dataset: Dataset) -> None:
    """Keep an upload in this session (replacing one of the same name); the oldest goes
    once there are more than limits.MAX_UPLOADS_PER_SESSION."""
    if UPLOADS_KEY not in st.session_state:
        keep(UPLOADS_KEY, {})  # edited in place from now on
    uploads = st.session_state[UPLOADS_KEY]
    uploads.pop(dataset.name, None)
    uploads[dataset.name] = dataset
    while len(uploads) > MAX_UPLOADS_PER_SESSION:
        uploads.pop(next(iter(uploads)))


NOTICE_KEY = "page_notice"


def set_notice(where: str, kind: str, text: str) -> None:
    """A message for a page's next run at the place `where` (see ui.notices)."""
    st.session_state[NOTICE_KEY] = (where, kind, text)


def pop_notice(where: str) -> tuple[str, str] | None:
    """(kind, text) of the notice for `where`, shown once."""
    notice = st.session_state.get(NOTICE_KEY)
    if notice is None or notice[0] != where:
        return None
    del st.session_state[NOTICE_KEY]
    return notice[1], notice[2]


# --- runs ---------------------------------------------------------------------
# Runs live in sessions.STORE under this tab's unguessable token, which the URL
# keeps as ?session=... so a reload (a new Streamlit session) finds them again.
# st.session_state["runs"] is the same dict object; runs that code or tests put
# there directly join the store on the next call.
RUNS_KEY = "runs"
FOCUS_RUN_KEY = "train_focus_run"
PAGE_DRAWN_KEY = "train_page_drawn"


def _runs() -> dict[str, Run]:
    store = sessions.STORE.runs(session_token())
    local = st.session_state.get(RUNS_KEY)
    if local is not store:
        for run_id, run in (local or {}).items():
            store.setdefault(run_id, run)
        st.session_state[RUNS_KEY] = store
    return store


def get_runs() -> list[Run]:
    """This browser session's runs, newest first."""
    return list(reversed(_runs().values()))


def add_run(run: Run) -> None:
    _runs()[run.id] = run


def get_run(run_id: str | None) -> Run | None:
    return _runs().get(run_id) if run_id else None


def delete_run(run_id: str) -> None:
    """Stop the run if it trains, forget it, and free its memory when nothing trains."""
    run = _runs().pop(run_id, None)
    if run is not None:
        run.stop()
        if st.session_state.get(FOCUS_RUN_KEY) == run_id:
            del st.session_state[FOCUS_RUN_KEY]
        collect_garbage_if_idle()


def get_focus_run() -> Run | None:
    """The run the Train page shows live: the one last started or picked, else the newest."""
    run = get_run(st.session_state.get(FOCUS_RUN_KEY))
    if run is None:
        runs = get_runs()
        run = runs[0] if runs else None
    return run


def set_focus_run(run_id: str) -> None:
    """Show this run live; also picks it in the page's run chooser."""
    keep(FOCUS_RUN_KEY, run_id)
    st.session_state[RUN_CHOICE_KEY] = run_id


def remember_page_drawn(view: RunView) -> None:
    """The Train page's full run is about to show this state of its live run."""
    st.session_state[PAGE_DRAWN_KEY] = live_progress.page_drawn(view)


def page_out_of_date(view: RunView) -> bool:
    """For the live fragment: should it rerun the page to show what changed?"""
    drawn = st.session_state.get(PAGE_DRAWN_KEY)
    return live_progress.page_out_of_date(drawn, view)


LIVE_COLUMNS_KEY = "live_batch_columns"


def live_batch_columns(run_id: str) -> BatchColumns:
    """The batches of run `run_id` as the live chart converted them for its last
    redraw; one run's at a time, so a session holds at most one run's copy."""
    kept = st.session_state.get(LIVE_COLUMNS_KEY)
    if kept is None or kept[0] != run_id:
        kept = st.session_state[LIVE_COLUMNS_KEY] = (run_id, BatchColumns("loss"))
    return kept[1]


RUN_CHOICE_KEY = "train_run_choice"


def prepare_run_choice(run_ids: list[str]) -> None:
    """Before the run chooser is drawn: make it show the focused run."""
    if st.session_state.get(RUN_CHOICE_KEY) not in run_ids:
        focus = get_focus_run()
        st.session_state[RUN_CHOICE_KEY] = focus.id if focus is not None else run_ids[0]


def on_run_choice() -> None:
    keep(FOCUS_RUN_KEY, st.session_state[RUN_CHOICE_KEY])


# --- train page settings ----------------------------------------------------------
# Widgets lose their values when the user visits another page; the settings are
# kept here and put back into the widget keys when the Train page runs again.
TRAIN_SETTINGS_KEY = "train_settings"
TRAIN_WIDGET_PREFIX = "train_w_"
TRAIN_DATASET_KEY = "train_dataset_choice"
KEPT_TRAIN_DATASET_KEY = "_kept_dataset"  # the widget's value outlives the widget here


def get_train_settings() -> TrainSettings:
    return st.session_state.get(TRAIN_SETTINGS_KEY) or TrainSettings()


def train_widget_key(name: str) -> str:
    return TRAIN_WIDGET_PREFIX + name


def restore_train_widgets() -> None:
    """Give every settings widget its kept value before the widgets are drawn."""
    for name, value in get_train_settings().to_dict().items():
        st.session_state.setdefault(train_widget_key(name), value)
    st.session_state.setdefault(
        TRAIN_DATASET_KEY, st.session_state.get(KEPT_TRAIN_DATASET_KEY, DEFAULT_DATASET)
    )


def use_train_settings(settings: TrainSettings) -> None:
    """Show `settings` in the Train widgets (a button's callback: before they are drawn)."""
    keep(TRAIN_SETTINGS_KEY, settings)
    for name, value in settings.to_dict().items():
        st.session_state[train_widget_key(name)] = value


START_CONFIRMED_KEY = "train_start_confirmed"


def identical_active_run(spec: ModelSpec, dataset_name: str, settings: TrainSettings) -> Run | None:
    """A run of this session still queued or training with this spec, data and settings."""
    # A run keeps its spec fitted to the data (input, classes): compare the layers.
    layers = [layer.to_dict() for layer in spec.layers]
    wanted = (dataset_name, settings.to_dict())
    for run in get_runs():
        if not run.is_active or (run.dataset_name, run.settings) != wanted:
            continue
        if [layer.to_dict() for layer in run.spec.layers] == layers:
            return run
    return None


START_FOLLOW, START_SEPARATE = "follow", "separate"


def confirm_start(choice: str) -> None:
    """A button under the twin warning was pressed: the next page run starts the run
    without asking, following the twin's training (START_FOLLOW) or on its own."""
    st.session_state[START_CONFIRMED_KEY] = choice


def pop_start_choice() -> str | None:
    """START_FOLLOW or START_SEPARATE once after a twin warning's button, else None."""
    return st.session_state.pop(START_CONFIRMED_KEY, None)


def prepare_train_dataset_choice(names: list[str]) -> None:
    """Before the Train page's dataset picker is drawn: a kept choice that is not offered
    any more (a download gone from disk) falls back to the default dataset."""
    if st.session_state.get(TRAIN_DATASET_KEY) not in names:
        st.session_state[TRAIN_DATASET_KEY] = DEFAULT_DATASET


def keep_train_dataset_choice() -> None:
    keep(KEPT_TRAIN_DATASET_KEY, st.session_state.get(TRAIN_DATASET_KEY))


def train_settings_from_widgets() -> TrainSettings:
    """The settings the widgets show now; also kept for the next visit."""
    values = {
        name: st.session_state[train_widget_key(name)]
        for name in TrainSettings().to_dict()
        if train_widget_key(name) in st.session_state
    }
    settings = TrainSettings.from_dict(values)
    keep(TRAIN_SETTINGS_KEY, settings)
    return settings


# --- evaluation -------------------------------------------------------------------
# A run's evaluation never changes once it has a model, so it is computed once per
# run and kept in this session (runs are per session; no process-wide cache).
EVALUATIONS_KEY = "evaluations"
EVAL_RUN_KEY = "eval_run"
EVAL_MISTAKES_KEY = "eval_mistakes"


def evaluation_for(run: Run) -> Evaluation:
    """The run's test-set evaluation, computed on first use and then kept.

    Raises EvaluationError when the run cannot be evaluated.
    """
    cache: dict[str, tuple[Any, Evaluation]] = st.session_state.setdefault(EVALUATIONS_KEY, {})
    live = {r.id for r in get_runs()}
    for run_id in [k for k in cache if k not in live and k != run.id]:
        del cache[run_id]  # a deleted run's predictions would only hold memory
    cached = cache.get(run.id)
    # The model object is part of the key: a run given a new model is evaluated anew.
    if cached is None or cached[0] is not run.model:
        cache[run.id] = (run.model, evaluate_run(run))
    return cache[run.id][1]


def confusion_chart_key(run_id: str) -> str:
    return f"eval_confusion_{run_id}"


def confusion_cell_keys(run_id: str) -> tuple[str, str]:
    """Widget keys of the (true class, predicted class) selectboxes of a run's matrix."""
    return f"eval_true_{run_id}", f"eval_pred_{run_id}"


def init_confusion_cell(run_id: str, cell: tuple[int, int]) -> None:
    """Start a run's cell selectboxes at `cell` unless the user already chose one."""
    for key, value in zip(confusion_cell_keys(run_id), cell, strict=True):
        st.session_state.setdefault(key, value)


def select_confusion_cell(run_id: str, num_classes: int) -> None:
    """on_select callback of the confusion chart: move the cell selectboxes to the clicked cell."""
    event = st.session_state.get(confusion_chart_key(run_id)) or {}
    cell = confusion_cell_from_selection(event.get("selection"), num_classes)
    if cell is not None:
        for key, value in zip(confusion_cell_keys(run_id), cell, strict=True):
            st.session_state[key] = value


# --- convolution explorer -------------------------------------------------------
CONV_UPLOAD_KEY = "conv_upload"  # (file name, uint8 image): kept when the user leaves the page
CONV_STEP_KEY = "conv_step_cell"  # the step-by-step slider's widget key
CONV_PLAYING_KEY = "conv_playing"


def get_conv_upload() -> tuple[str, object] | None:
    """The image this session uploaded on the Convolution page, as (name, uint8 array)."""
    return st.session_state.get(CONV_UPLOAD_KEY)


def set_conv_upload(name: str, image: object) -> None:
    keep(CONV_UPLOAD_KEY, (name, image))


def conv_step_cell(n_cells: int) -> int:
    """The output cell the step-by-step view shows, kept inside 0..n_cells-1."""
    cell = int(st.session_state.get(CONV_STEP_KEY, 0))
    if not 0 <= cell < n_cells:
        cell = min(max(cell, 0), n_cells - 1)
        st.session_state[CONV_STEP_KEY] = cell
    return cell


def advance_conv_step(n_cells: int) -> None:
    """Move the animation one cell on; stop playing after the last cell."""
    cell = int(st.session_state.get(CONV_STEP_KEY, 0)) + 1
    if cell >= n_cells:
        cell = n_cells - 1
        st.session_state[CONV_PLAYING_KEY] = False
    st.session_state[CONV_STEP_KEY] = cell


def conv_playing() -> bool:
    return bool(st.session_state.get(CONV_PLAYING_KEY, False))


def set_conv_playing(playing: bool, n_cells: int | None = None) -> None:
    """Start or stop the animation; starting from the last cell starts over."""
    st.session_state[CONV_PLAYING_KEY] = playing
    if playing and n_cells is not None and conv_step_cell(n_cells) >= n_cells - 1:
        st.session_state[CONV_STEP_KEY] = 0


# --- classify -------------------------------------------------------------------
UPLOADED_MODEL_KEY = "classify_uploaded_model"


def get_uploaded_model(file_id: str) -> Classifier | None:
    """The model this session uploaded on the Classify page, if it is still file `file_id`."""
    stored = st.session_state.get(UPLOADED_MODEL_KEY)
    return stored[1] if stored and stored[0] == file_id else None


def set_uploaded_model(file_id: str, classifier: Classifier) -> None:
    """Keep one uploaded model per session (a new upload replaces the old one)."""
    st.session_state[UPLOADED_MODEL_KEY] = (file_id, classifier)
