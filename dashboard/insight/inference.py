"""Use a trained model on new images, and look inside it.

Everything here is a function of arrays (or of bytes a user uploaded), so the
Classify page only lays results out and tests need no browser:

- decoding an upload into an image, with one clear `ImageError` per bad file;
- preprocessing to the model's input ("what the model sees"): EXIF orientation,
  alpha over a background, grayscale or RGB, fit/crop/stretch, MNIST-style inversion;
- loading a `.keras` upload safely, and the shipped pretrained digits model;
- prediction, top-k, feature maps, first-layer filters and Grad-CAM.

TensorFlow is imported lazily, inside the functions that need it.
"""

from __future__ import annotations

import io
import json
import math
import tempfile
import weakref
import zipfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageOps

from dashboard.data import limits
from dashboard.data.images import ImageError, data_url, declared_pixels, decode_image
from dashboard.model.model_config import declared_model
from dashboard.model.spec import ModelSpec, json_depth, shape_text

if TYPE_CHECKING:
    import pandas as pd

# --- limits and names ------------------------------------------------------------

IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "webp", "bmp", "gif")

PRETRAINED_DIR = Path(__file__).resolve().parents[2] / "models" / "pretrained"
PRETRAINED_NAME = "digits"

RESIZE_MODES = {
    "fit": "Fit with padding",
    "crop": "Centre crop",
    "stretch": "Stretch",
}
INVERT_MODES = {
    "auto": "Automatic (when the background is light)",
    "always": "Always",
    "never": "Never",
}

CONV_TYPES = ("Conv2D", "DepthwiseConv2D", "SeparableConv2D")
POOL_TYPES = ("MaxPooling2D", "AveragePooling2D")


class ModelFileError(ValueError):
    """A model file a user gave that cannot be used; the message says what to do."""


# --- preprocessing ----------------------------------------------------------------


# The longest side of the user's image that Classify keeps to show beside the model's view.
ORIGINAL_SHOWN_SIDE = 512


@dataclass
class Prepared:
    """One image ready for the model, with what a user needs to see about it."""

    name: str
    original: Image.Image  # upright, alpha flattened: what the user gave, for display
    array: np.ndarray  # uint8 (H, W, C): exactly what the model sees, before scaling
    inverted: bool


def upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag, as a photo viewer does."""
    return ImageOps.exif_transpose(image) or image


def flatten_alpha(
    image: Image.Image, background: tuple[int, int, int] = (255, 255, 255)
) -> Image.Image:
    """An RGB image with any transparency composited over `background`."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    if not has_alpha:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    canvas = Image.new("RGBA", rgba.size, (*background, 255))
    return Image.alpha_composite(canvas, rgba).convert("RGB")


def border_color(array: np.ndarray) -> np.ndarray:
    """Median colour of the outermost pixels (H, W, C): the image's background."""
    edges = np.concatenate([array[0], array[-1], array[:, 0], array[:, -1]])
    return np.median(edges, axis=0)


def is_light_background(array: np.ndarray) -> bool:
    """True when the image's border is mostly light (dark object on a light ground)."""
    return float(border_color(array).mean()) > 127.5


def resize(array: np.ndarray, size: tuple[int, int], mode: str = "fit") -> np.ndarray:
    """Resize uint8 (H, W, C) to (height, width) by 'fit' (pad), 'crop' (centre) or 'stretch'.

    Fit pads with the image's own border colour, so padding never looks like an object.
    """
    if mode not in RESIZE_MODES:
        raise ValueError(f"resize mode must be one of {', '.join(RESIZE_MODES)}, not {mode!r}")
    out_h, out_w = size
    h, w, c = array.shape
    image = Image.fromarray(array[..., 0] if c == 1 else array)
    if mode == "stretch":
        result = image.resize((out_w, out_h), Image.LANCZOS)
    elif mode == "crop":
        result = ImageOps.fit(image, (out_w, out_h), Image.LANCZOS)
    else:
        scale = min(out_w / w, out_h / h)
        new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
        inner = image.resize((new_w, new_h), Image.LANCZOS)
        fill = tuple(int(v) for v in np.round(border_color(array)))
        result = Image.new(image.mode, (out_w, out_h), fill[0] if c == 1 else fill)
        result.paste(inner, ((out_w - new_w) // 2, (out_h - new_h) // 2))
    out = np.asarray(result, dtype=np.uint8)
    return out[..., None] if c == 1 else out


def frame_digit(array: np.ndarray, box: float = 20 / 28) -> np.ndarray:
    """Frame a white-on-black digit as MNIST does: crop to its strokes, scale them into a
    20×20 box of the 28×28 frame, and centre them by their centre of mass."""
    gray = array[..., 0].astype(np.float32)
    ys, xs = np.nonzero(gray > 0.1 * gray.max()) if gray.max() > 0 else ((), ())
    if len(ys) == 0:
        return array
    crop = gray[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    out_h, out_w = gray.shape
    target = box * min(out_h, out_w)
    scale = target / max(crop.shape)
    new_h, new_w = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    small = np.asarray(
        Image.fromarray(crop.astype(np.uint8)).resize((new_w, new_h), Image.LANCZOS),
        dtype=np.float32,
    )
    total = small.sum()
    cy = (small.sum(axis=1) @ np.arange(new_h)) / total if total else new_h / 2
    cx = (small.sum(axis=0) @ np.arange(new_w)) / total if total else new_w / 2
    top = int(np.clip(round(out_h / 2 - cy), 0, out_h - new_h))
    left = int(np.clip(round(out_w / 2 - cx), 0, out_w - new_w))
    framed = np.zeros_like(gray)
    framed[top : top + new_h, left : left + new_w] = small
    return np.clip(framed, 0, 255).astype(np.uint8)[..., None]


def prepare(
    image: Image.Image,
    input_shape: tuple[int, int, int],
    *,
    name: str = "image",
    resize_mode: str = "fit",
    invert: str = "auto",
    background: tuple[int, int, int] = (255, 255, 255),
    frame: bool = False,
) -> Prepared:
    """Turn a decoded image into exactly what a model with `input_shape` sees (uint8).

    For one-channel (MNIST-like) models, `invert` 'auto' makes a dark-on-light image
    white-on-black; 'always' and 'never' override it. `frame` centres a digit like MNIST.
    """
    height, width, channels = input_shape
    if channels not in (1, 3):
        raise ImageError(
            f"This model expects {channels} channels per pixel; CNN Lab can feed it only "
            "1 (grayscale) or 3 (RGB) channels."
        )
    original = flatten_alpha(upright(image), background)
    # Grayscale is ITU-R 601 luma, as Pillow's convert("L") computes it.
    gray = channels == 1
    pixels = np.asarray(original.convert("L") if gray else original, dtype=np.uint8)
    if gray:
        pixels = pixels[..., None]
    inverted = False
    if channels == 1:
        inverted = invert == "always" or (invert == "auto" and is_light_background(pixels))
        if inverted:
            pixels = 255 - pixels
    array = resize(pixels, (height, width), resize_mode)
    if frame and channels == 1:
        array = frame_digit(array)
    # Keep only what the page shows: a 5000×5000 photo would hold 75 MB per image.
    original.thumbnail((ORIGINAL_SHOWN_SIDE, ORIGINAL_SHOWN_SIDE), Image.Resampling.LANCZOS)
    return Prepared(name=name, original=original, array=array, inverted=inverted)


def prepare_array(
    array: np.ndarray, input_shape: tuple[int, int, int], *, name: str = "image", **options: Any
) -> Prepared:
    """`prepare` for an image given as an array (e.g. the drawing canvas' RGBA pixels)."""
    if array.size == 0:
        raise ImageError(f"{name} has 0 pixels, so there is nothing to classify.")
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    image = Image.fromarray(array[..., 0] if array.ndim == 3 and array.shape[2] == 1 else array)
    return prepare(image, input_shape, name=name, **options)


def enlarge(array: np.ndarray, min_side: int = 196) -> np.ndarray:
    """Blow a small image up by whole pixels (nearest neighbour), so 28×28 is visible."""
    factor = max(1, math.ceil(min_side / min(array.shape[:2])))
    big = np.repeat(np.repeat(array, factor, axis=0), factor, axis=1)
    return big[..., 0] if big.shape[-1] == 1 else big


def thumbnail_url(image: Image.Image, size: int = 64) -> str:
    """A small PNG as a data URL, for a table's image column."""
    thumb = image.copy()
    thumb.thumbnail((size, size))
    return data_url(thumb)


def is_blank(array: np.ndarray) -> bool:
    """True when every pixel has the same colour (e.g. a canvas nobody drew on)."""
    flat = array[..., :3] if array.ndim == 3 and array.shape[2] >= 3 else array
    if array.ndim == 3 and array.shape[2] == 4:
        # Fully transparent pixels count as background whatever their colour.
        flat = np.where(array[..., 3:4] > 0, flat, 0)
    return bool(flat.min() == flat.max())


def prepare_many(
    files: list[tuple[str, bytes]], input_shape: tuple[int, int, int], **options: Any
) -> tuple[list[Prepared], list[str]]:
    """Decode and prepare each (name, bytes); a bad file gives its message and the
    others go on. Returns (prepared images, error messages) in upload order."""
    from dashboard.data.budget import BUDGET, BudgetError

    prepared, errors = [], []
    most = limits.MAX_CLASSIFY_IMAGES
    if len(files) > most:
        errors.append(
            f"You gave {len(files)} images; CNN Lab classifies at most {most} at once, so the "
            f"first {most} are shown; remove some to see the others."
        )
        files = files[:most]
    # JPEGs decode straight at a reduced scale when the page needs no more pixels.
    side = max(input_shape[0], input_shape[1], ORIGINAL_SHOWN_SIDE)
    for name, data in files:
        try:
            # The decoded image, its RGB and grayscale copies: ~4 bytes a declared pixel.
            pixels = declared_pixels(data) or limits.MAX_IMAGE_PIXELS
            with BUDGET.reserve(4 * pixels, f"Decoding {name}", "upload a smaller image"):
                image = decode_image(data, name, draft=("RGB", (side, side)))
                prepared.append(prepare(image, input_shape, name=name, **options))
        except (ImageError, BudgetError) as exc:
            errors.append(str(exc))
    return prepared, errors


def results_table(
    prepared: list[Prepared], probs: np.ndarray, class_names: list[str], thumbnails: bool = True
) -> pd.DataFrame:
    """One row per image: thumbnail (data URL), file, prediction and confidence."""
    import pandas as pd

    best = probs.argmax(axis=1) if len(probs) else np.zeros(0, dtype=int)
    table = pd.DataFrame(
        {
            "file": [item.name for item in prepared],
            "prediction": [class_names[i] for i in best],
            "confidence": [float(probs[row, i]) for row, i in enumerate(best)],
        }
    )
    if thumbnails:
        table.insert(0, "image", [thumbnail_url(item.original) for item in prepared])
    return table


# --- models -----------------------------------------------------------------------


@dataclass
class Classifier:
    """A keras.Model with what the page needs to use it: name, classes, input and output."""

    model: Any
    label: str
    class_names: list[str]
    spec: ModelSpec | None = None
    description: str = ""
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
    def input_scale(self) -> float:
        """Factor from uint8 pixels to model input: 1/255, unless the model rescales itself."""
        if "scale" not in self._cache:
            own = any(
                type(layer).__name__ in ("Rescaling", "Normalization")
                for layer in self.model.layers[:3]
            )
            self._cache["scale"] = 1.0 if own else 1 / 255
        return self._cache["scale"]

    @property
    def outputs_logits(self) -> bool:
        """True when the last layer has no softmax/sigmoid, so scores are logits."""
        last = self.model.layers[-1]
        if type(last).__name__ == "Softmax":
            return False
        activation = getattr(getattr(last, "activation", None), "__name__", "linear")
        return activation not in ("softmax", "sigmoid")

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
    return Classifier(
        model=model,
        label=f"Uploaded: {name}",
        class_names=default_class_names(model),
        description=f"Uploaded model {name}; class names are their indices.",
    )


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


# --- prediction -------------------------------------------------------------------


def to_model_input(arrays: np.ndarray | list[np.ndarray], scale: float = 1 / 255) -> np.ndarray:
    """uint8 images (N, H, W, C) as the float32 batch a model takes."""
    return np.asarray(arrays, dtype=np.float32) * np.float32(scale)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def predict(
    classifier: Classifier, arrays: np.ndarray | list[np.ndarray], batch_size: int = 256
) -> np.ndarray:
    """Class probabilities (N, num_classes) for uint8 images (N, H, W, C)."""
    x = to_model_input(arrays, classifier.input_scale)
    if len(x) == 0:
        return np.zeros((0, classifier.num_classes), dtype=np.float32)
    # Calling the model directly avoids predict()'s per-call setup for small batches.
    chunks = [
        np.asarray(classifier.model(x[i : i + batch_size], training=False))
        for i in range(0, len(x), batch_size)
    ]
    scores = np.concatenate(chunks).astype(np.float64)
    if classifier.binary:
        p = scores[:, 0]
        if classifier.outputs_logits:
            p = 1 / (1 + np.exp(-p))
        return np.stack([1 - p, p], axis=1).astype(np.float32)
    if classifier.outputs_logits:
        scores = _softmax(scores)
    return scores.astype(np.float32)


def top_k(probs: np.ndarray, class_names: list[str], k: int = 5) -> list[tuple[str, float]]:
    """The k most probable classes of one image's probabilities, best first."""
    order = np.argsort(-probs, kind="stable")[: max(1, min(k, len(probs)))]
    return [(class_names[i], float(probs[i])) for i in order]


# --- inside the model ---------------------------------------------------------------


def _graph(classifier: Classifier) -> tuple[Any, dict[str, Any]]:
    """(inputs, {layer name: symbolic output}) of one consistent graph of the model.

    A Sequential model loaded from a file has called its layers more than once, so
    `layer.output` and the next layer's `input` can belong to different graphs and
    gradients between them are None. For Sequential models the chain is traced anew
    on a fresh Input (same layers, same weights); functional models keep their graph.
    """
    if "graph" not in classifier._cache:
        import keras

        model = classifier.model
        if isinstance(model, keras.Sequential):
            inputs = keras.Input(shape=model.input_shape[1:], name="image")
            outputs, x = {}, inputs
            for layer in model.layers:
                x = layer(x)
                outputs[layer.name] = x
        else:
            # One input (check_model): pass the tensor, not a list, so calls match it.
            inputs = model.inputs[0]
            outputs = {layer.name: layer.output for layer in model.layers}
        classifier._cache["graph"] = (inputs, outputs)
    return classifier._cache["graph"]


def feature_layers(classifier: Classifier) -> list[str]:
    """Names of the conv and pooling layers whose outputs are feature maps (H, W, C)."""
    return [
        layer.name
        for layer in classifier.model.layers
        if type(layer).__name__ in CONV_TYPES + POOL_TYPES and len(layer.output.shape) == 4
    ]


def feature_maps(classifier: Classifier, array: np.ndarray) -> dict[str, np.ndarray]:
    """Every conv and pooling layer's output (H, W, C) for one uint8 image (H, W, C)."""
    names = feature_layers(classifier)
    if not names:
        return {}
    if "features" not in classifier._cache:
        import keras

        inputs, graph = _graph(classifier)
        classifier._cache["features"] = keras.Model(inputs, [graph[name] for name in names])
    x = to_model_input(array[None], classifier.input_scale)
    results = classifier._cache["features"](x, training=False)
    if len(names) == 1:
        results = [results]
    return {name: np.asarray(out)[0] for name, out in zip(names, results, strict=True)}


def first_conv_filters(classifier: Classifier) -> np.ndarray | None:
    """Kernels of the first Conv2D layer, (kh, kw, in_channels, filters), or None."""
    for layer in classifier.model.layers:
        if type(layer).__name__ == "Conv2D":
            return np.asarray(layer.get_weights()[0])
    return None


def last_conv_layer(classifier: Classifier) -> str | None:
    """Name of the last conv layer with a spatial output: where Grad-CAM looks."""
    convs = [
        name
        for name in feature_layers(classifier)
        if type(classifier.model.get_layer(name)).__name__ in CONV_TYPES
    ]
    return convs[-1] if convs else None


def grad_cam(
    classifier: Classifier, array: np.ndarray, class_index: int | None = None
) -> tuple[np.ndarray, int]:
    """Grad-CAM (Selvaraju et al., 2017) from the last conv layer for one uint8 image.

    Returns (heatmap in 0..1 of the image's height × width, the class explained);
    `class_index` None explains the predicted class. The class score is taken
    before softmax/sigmoid, so a confident prediction still has gradients.
    """
    import tensorflow as tf

    conv_name = last_conv_layer(classifier)
    if conv_name is None:
        raise ValueError("This model has no conv layer, so Grad-CAM has nothing to look at.")
    model = classifier.model
    last = model.layers[-1]
    # With a Dense softmax/sigmoid head, read the layer's input and redo its matmul
    # to get logits: gradients of a saturated probability are near zero.
    use_logits = type(last).__name__ == "Dense" and not classifier.outputs_logits
    if "gradcam" not in classifier._cache:
        import keras

        inputs, graph = _graph(classifier)
        if not use_logits:
            head = graph[last.name]
        elif isinstance(model, keras.Sequential):
            # In a chain the head's input is the previous layer's output.
            head = graph[model.layers[-2].name] if len(model.layers) > 1 else inputs
        else:
            head = last.input
        classifier._cache["gradcam"] = keras.Model(inputs, [graph[conv_name], head])
    x = tf.constant(to_model_input(array[None], classifier.input_scale))
    with tf.GradientTape() as tape:
        conv_out, head = classifier._cache["gradcam"](x, training=False)
        if use_logits:
            scores = tf.matmul(head, last.kernel)
            if last.bias is not None:
                scores = scores + last.bias
        elif classifier.outputs_logits:
            scores = head
        else:
            # Probabilities from a head we cannot undo: log-odds / log-probabilities.
            p = tf.clip_by_value(head, 1e-7, 1 - 1e-7)
            scores = tf.math.log(p) - tf.math.log(1 - p) if classifier.binary else tf.math.log(p)
        if classifier.binary:
            # One logit z for class 1; class 0's score is -z.
            z = scores[:, 0]
            target = int(z[0] > 0) if class_index is None else int(class_index)
            score = z if target == 1 else -z
        else:
            target = int(tf.argmax(scores[0])) if class_index is None else int(class_index)
            score = scores[:, target]
    grads = tape.gradient(score, conv_out)
    weights = tf.reduce_mean(grads, axis=(1, 2))  # one weight per channel
    cam = tf.nn.relu(tf.reduce_sum(conv_out * weights[:, None, None, :], axis=-1))[0]
    cam = np.asarray(cam, dtype=np.float32)
    height, width = array.shape[:2]
    cam = np.asarray(Image.fromarray(cam).resize((width, height), Image.BILINEAR), dtype=np.float32)
    peak = float(cam.max())
    return (cam / peak if peak > 0 else cam), target
