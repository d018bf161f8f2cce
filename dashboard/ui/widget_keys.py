"""Every page's widget keys, in one place: a page and its tests name a widget the same
way, and no key is a string typed inline. Keys whose values `state.py` restores,
points or moves (a kept Train setting, the focused run, a confusion cell) come from
there, so each string still has one definition.
"""

from __future__ import annotations

from dashboard.ui import state


class BuildKeys:
    """The Build page's widget keys; tests find widgets by these exact strings.

    Keys that end in the layer-widget version change on every structural edit, so a
    widget never carries its value over to another layer (see state.layer_widget_version).
    """

    PRESET = "preset_choice"
    NEW_LAYER_TYPE = "new_layer_type"
    SPEC_UPLOAD = "spec_upload"

    @staticmethod
    def input_size(axis: str, version: int) -> str:
        """Height, width or channels input; axis is 'h', 'w' or 'c'."""
        return f"in_{axis}{version}"

    @staticmethod
    def classes(version: int) -> str:
        return f"classes{version}"

    @staticmethod
    def layer_pick(version: int) -> str:
        return f"layer_pick{version}"

    @staticmethod
    def layer_edit(action: str, version: int) -> str:
        return f"{action}{version}"


class DataKeys:
    """The Data page's widget keys; tests find widgets by these exact strings."""

    USE_DATASET = "use_dataset"
    USE_UPLOAD = "use_upload"


class TrainKeys:
    """The Train page's widget keys; tests find widgets by these exact strings."""

    DATASET = state.TRAIN_DATASET_KEY  # "train_dataset_choice": state restores and keeps it
    START = "start_training"
    START_AGAIN = "start_another"  # under the twin warning: Follow it, or Start another
    START_SEPARATE = "start_separately"  # under the twin warning: a real second training
    RUNS_TABLE = "runs_table"
    RUN_CHOICE = state.RUN_CHOICE_KEY  # "train_run_choice": state points it at the live run
    STOP_CHOSEN = "stop_chosen"
    USE_RECIPE = "use_preset_settings"
    DELETE_CHOSEN = "delete_chosen"

    @staticmethod
    def setting(name: str) -> str:
        """A setting's widget, e.g. 'train_w_epochs' (state restores them on each visit)."""
        return state.train_widget_key(name)

    @staticmethod
    def stop(run_id: str) -> str:
        """The Stop button under the live run's heading."""
        return f"stop_{run_id}"

    @staticmethod
    def train_separately(run_id: str) -> str:
        """Under a run that shared an identical training: train it again for real."""
        return f"train_separately_{run_id}"


class EvaluateKeys:
    """The Evaluate page's widget keys; tests find widgets by these exact strings."""

    RUN = state.EVAL_RUN_KEY  # "eval_run"
    MISTAKES = state.EVAL_MISTAKES_KEY  # "eval_mistakes"

    @staticmethod
    def cell(run_id: str) -> tuple[str, str]:
        """The (true class, predicted class) selectboxes, e.g. 'eval_true_<run>'; state
        starts them at the worst cell and moves them on a click."""
        return state.confusion_cell_keys(run_id)

    @staticmethod
    def confusion_chart(run_id: str) -> str:
        """The clickable confusion matrix, e.g. 'eval_confusion_<run>'."""
        return state.confusion_chart_key(run_id)

    @staticmethod
    def partner(run_id: str) -> str:
        """The run the chosen one is compared with."""
        return f"eval_partner_{run_id}"


class ConvolutionKeys:
    """The widget keys of the Convolution page (tests find the widgets by them)."""

    SOURCE = "conv_source"
    SAMPLE = "conv_sample"
    PATTERN = "conv_pattern"
    PATTERN_SIZE = "conv_pattern_size"
    FILE = "conv_file"
    DATASET_INDEX = "conv_dataset_index"
    KERNEL_SOURCE = "conv_kernel_source"
    RUN = "conv_run"
    FILTER = "conv_filter"
    BIAS = "conv_bias"
    COLOR = "conv_color"
    KERNEL = "conv_kernel"
    KERNEL_SIZE = "conv_kernel_size_{name}"
    KERNEL_GRID = "conv_grid_{name}_{size}"
    KERNEL_CHART = "conv_k{channel}"
    STRIDE_ROWS = "conv_stride_rows"
    STRIDE_COLS = "conv_stride_cols"
    PADDING = "conv_padding"
    PAD_PIXELS = "conv_pad_px"
    DILATION = "conv_dilation"
    RELU = "conv_relu"
    POOL = "conv_pool"
    POOL_SIZE = "conv_pool_size"
    POOL_STRIDE = "conv_pool_stride"
    POOL_PADDING = "conv_pool_padding"
    STEP_CHANNEL = "conv_step_channel"
    STEP_CELL = state.CONV_STEP_KEY
    PLAY = "conv_play"
    STEP_INPUT = "conv_step_input"
    STEP_PRODUCTS = "conv_step_products"
    STEP_OUTPUT = "conv_step_output"


class ClassifyKeys:
    """The widget keys of the Classify page (tests find the widgets by them)."""

    MODEL_FILE = "model_file"
    IMAGES = "images"
    CANVAS = "digit_canvas"
    INSPECT = "inspect"
    TOPK_CHART = "topk"
    GRADCAM_CHART = "gradcam"
    MAPS_CHART = "maps"
    FILTERS_CHART = "filters"

    # Preprocessing widgets are keyed per model choice, so each model offers its own defaults.
    @staticmethod
    def fit(choice: str) -> str:
        return f"classify_fit_{choice}"

    @staticmethod
    def invert(choice: str) -> str:
        return f"classify_invert_{choice}"

    @staticmethod
    def frame(source: str, choice: str) -> str:
        return f"frame_{source}_{choice}"

    @staticmethod
    def background(choice: str) -> str:
        return f"classify_background_{choice}"
