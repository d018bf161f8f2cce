"""Models Classify can ask: the shipped digits model, a run's model, or an uploaded
`.keras` file loaded safely, each as a `Classifier` that knows its classes and how
new images must be prepared for it (`preprocessing`)."""

from __future__ import annotations

import io
import json
import tempfile
import weakref
import zipfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from dashboard.data import limits
from dashboard.data.preprocess import Preprocessing
from dashboard.insight.prediction import input_divisor, outputs_logits
from dashboard.model.keras_file import read_metadata
from dashboard.model.model_config import declared_model
from dashboard.model.spec import ModelSpec, json_depth, shape_text

PRETRAINED_DIR = Path(__file__).resolve().parents[2] / "models" / "pretrained"
PRETRAINED_NAME = "digits"


class ModelFileError(ValueError):
    """A model file a user gave that cannot be used; the message says what to do."""


# --- models -----------------------------------------------------------------------


@dataclass
class Classifier:
    """A keras.Model with what the page needs to use it: name, classes, input and output."""

    model: Any
    label: str
    class_names: list[str]
    spec: ModelSpec | None = None
    description: str = ""
    # How new images are prepared by default: as the model's training images were.
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    # Sub-models for feature maps and Grad-CAM, built once per model.
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(int(v) for v in self.model.input_shape[1:])  # type: ignore[return-value]

    @property
    def units(self) -> int:
        return int(self.model.output_shape[-1])

    @property
    def binary(self) -> bool:
        """One sigmoid unit: the probability of class 1 of two."""
        return self.units == 1

    @property
    def num_classes(self) -> int:
        return 2 if self.binary else self.units

    @property
    def input_divisor(self) -> float:
        """What uint8 pixels are divided by for this model (see prediction.input_divisor)."""
        if "divisor" not in self._cache:
            self._cache["divisor"] = input_divisor(self.model)
        return self._cache["divisor"]

    @property
    def outputs_logits(self) -> bool:
        """True when the last layer has no softmax/sigmoid, so scores are logits."""
        return outputs_logits(self.model)

    @property
    def param_count(self) -> int:
        return int(self.model.count_params())


def check_model(model: Any, name: str = "The model") -> None:
    """Refuse a model the page cannot feed images to or read classes from (ModelFileError)."""
    inputs, outputs = getattr(model, "inputs", None), getattr(model, "outputs", None)
    if not inputs or len(inputs) != 1 or not outputs or len(outputs) != 1:
        raise ModelFileError(
            f"{name} must have exactly one input and one output; CNN Lab classifies one image "
            "at a time into one set of classes."
        )
    shape = tuple(model.input_shape)
    if len(shape) != 4 or any(v is None for v in shape[1:]):
        raise ModelFileError(
            f"{name} takes input of shape {shape[1:]}, not an image (height, width, channels); "
            "upload an image classifier such as one trained in CNN Lab."
        )
    if shape[3] not in (1, 3):
        raise ModelFileError(
            f"{name} expects {shape[3]} channels per pixel; CNN Lab can feed images with "
            "1 (grayscale) or 3 (RGB) channels."
        )
    out = tuple(model.output_shape)
    if len(out) != 2 or out[1] is None or out[1] < 1:
        raise ModelFileError(
            f"{name} outputs shape {out[1:]}, not one score per class; upload a classifier "
            "whose last layer is a Dense layer."
        )


def default_class_names(model: Any) -> list[str]:
    """'0'..'n-1' (digits for 10 classes); a 1-unit sigmoid output is 2 classes."""
    units = int(model.output_shape[-1])
    return [str(i) for i in range(2 if units == 1 else units)]


# A Keras config nests layers in models in layers: a real one stays under 20 levels.
MAX_CONFIG_DEPTH = 40


def check_declared_model(config: Any, name: str) -> None:
    """Refuse a model by what its config declares, before Keras allocates any of it:
    too many weights, an input too large to prepare images for, or more memory than
    the server's budget has free (the weights are held twice while they load)."""
    from dashboard.data.budget import BUDGET, BudgetError

    declared = declared_model(config) if isinstance(config, dict) else None
    if declared is None or declared.layers == 0:
        raise ModelFileError(
            f"{name} is not a Keras model file; save your model with model.save('model.keras') "
            "and upload that file."
        )
    if declared.unsized:
        raise ModelFileError(
            f"{name} was saved without its layers' input shapes, so its size cannot be "
            "checked before loading; save it again with Keras 3's model.save('model.keras')."
        )
    if declared.params > limits.MAX_MODEL_PARAMS:
        raise ModelFileError(
            f"{name} declares {declared.params:,} weights; models here may have at most "
            f"{limits.MAX_MODEL_PARAMS:,}, so upload a smaller model."
        )
    side = max((v for v in (declared.input_shape or ())[:2] if isinstance(v, int)), default=0)
    if side > limits.MAX_INPUT_SIDE:
        shape = shape_text(declared.input_shape or ())
        raise ModelFileError(
            f"{name} takes {shape} images; CNN Lab prepares images of at most "
            f"{limits.MAX_INPUT_SIDE}×{limits.MAX_INPUT_SIDE}, so upload a model with a "
            "smaller input."
        )
    try:
        BUDGET.check(declared.params * 4 * 2, f"Loading {name}", "upload a smaller model")
    except BudgetError as exc:
        raise ModelFileError(str(exc)) from None


def load_model_file(data: bytes, name: str = "The file") -> Classifier:
    """Load an uploaded .keras file with safe_mode=True and check it is an image classifier.

    Raises ModelFileError with one sentence for a file too big, not a .keras
    archive, corrupt, unsafe (Python code inside) or not an image classifier.

    Long because it is every check of the archive in order, all before Keras allocates anything.
    """
    if len(data) > limits.MAX_MODEL_BYTES:
        raise ModelFileError(
            f"{name} is {len(data) / 1e6:.0f} MB, over the {limits.MAX_MODEL_BYTES / 1e6:.0f} MB limit "
            "for uploaded models; upload a smaller model."
        )
    not_a_model = (
        f"{name} is not a Keras model file; save your model with model.save('model.keras') "
        "and upload that file."
    )
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ModelFileError(not_a_model)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            names = {info.filename for info in members}
            unpacked = sum(info.file_size for info in members)
            if unpacked > limits.MAX_MODEL_UNPACKED_BYTES:
                raise ModelFileError(
                    f"{name} would unpack to {unpacked / 1e6:.0f} MB, over the "
                    f"{limits.MAX_MODEL_UNPACKED_BYTES / 1e6:.0f} MB limit; upload a smaller model."
                )
            if "config.json" not in names or "model.weights.h5" not in names:
                raise ModelFileError(not_a_model)
            config_size = archive.getinfo("config.json").file_size
            if config_size > limits.MAX_MODEL_CONFIG_BYTES:
                raise ModelFileError(
                    f"{name} has a {limits.human_bytes(config_size)} config.json, far more than "
                    f"a model's description needs (at most "
                    f"{limits.human_bytes(limits.MAX_MODEL_CONFIG_BYTES)}); save the model "
                    "again with model.save('model.keras')."
                )
            raw = archive.read("config.json")
            saved = read_metadata(archive)
        if json_depth(raw) > MAX_CONFIG_DEPTH:
            raise ModelFileError(not_a_model)
        config = json.loads(raw)
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(
            f"{name} is a damaged .keras archive; save the model again and upload the new file."
        ) from None
    check_declared_model(config, name)

    import keras

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.keras"
        path.write_bytes(data)
        try:
            model = keras.models.load_model(path, compile=False, safe_mode=True)
        except Exception as exc:
            text = str(exc)
            if "safe_mode" in text or "Lambda" in text:
                raise ModelFileError(
                    f"{name} contains Python code (such as a Lambda layer), which CNN Lab does "
                    "not run for safety; rebuild the model from standard Keras layers."
                ) from None
            if "Could not locate" in text or "Unknown" in text:
                raise ModelFileError(
                    f"{name} uses a custom layer or object CNN Lab does not know; rebuild it "
                    "from standard Keras layers."
                ) from None
            raise ModelFileError(
                f"{name} could not be loaded as a Keras model (it may be damaged or from an "
                "incompatible Keras version); save it again with Keras 3 and upload the new file."
            ) from None
    check_model(model, name)
    class_names = saved_class_names(saved, model)
    return Classifier(
        model=model,
        label=f"Uploaded: {name}",
        class_names=class_names or default_class_names(model),
        description=f"Uploaded model {name}"
        + (
            "; class names as saved with it." if class_names else "; class names are their indices."
        ),
        preprocessing=Preprocessing.from_dict(saved.get("preprocessing")),
    )


def saved_class_names(saved: dict[str, Any], model: Any) -> list[str]:
    """The class names a CNN Lab download saved, if they fit the model; else []."""
    names = saved.get("class_names")
    if (
        isinstance(names, list)
        and len(names) == len(default_class_names(model))
        and all(isinstance(n, str) and 0 < len(n) <= limits.MAX_CLASS_NAME_CHARS for n in names)
    ):
        return names
    return []


# Sub-model caches of run models, so feature maps and Grad-CAM are not rebuilt on every
# rerun; an entry goes when its model is garbage-collected (the run was deleted).
_RUN_CACHES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def from_run(run: Any) -> Classifier:
    """A Classifier for a finished or stopped training run (run.model must be set).

    Raises ModelFileError if the run's model cannot take images (e.g. 4 channels).
    """
    check_model(run.model, f"The model of run {run.id}")
    return Classifier(
        model=run.model,
        label=run.label,
        class_names=list(run.class_names) or default_class_names(run.model),
        spec=run.spec,
        description=f"Run {run.label}, status {run.status}.",
        preprocessing=run.preprocessing,
        _cache=_RUN_CACHES.setdefault(run.model, {}),
    )


@cache
def load_pretrained() -> Classifier:
    """The small digits model shipped in models/pretrained (shared, read-only)."""
    import keras

    meta = json.loads((PRETRAINED_DIR / f"{PRETRAINED_NAME}.json").read_text(encoding="utf-8"))
    model = keras.models.load_model(
        PRETRAINED_DIR / f"{PRETRAINED_NAME}.keras", compile=False, safe_mode=True
    )
    accuracy = meta.get("test_accuracy")
    return Classifier(
        model=model,
        label="Pretrained digits model (MNIST)",
        class_names=list(meta["class_names"]),
        spec=ModelSpec.from_dict(meta["spec"]),
        description=(
            f"The default preset trained on {meta.get('trained_on', 'MNIST')}"
            + (f"; {accuracy:.1%} right on 5000 MNIST test images." if accuracy else ".")
        ),
    )
