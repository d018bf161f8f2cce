"""What decides a run's result besides the spec and the data: TrainSettings, and the
optimizer they name. No TensorFlow at import."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from dashboard.data.limits import count_text

if TYPE_CHECKING:
    import keras

# Optimizer key -> what the UI calls it.
OPTIMIZERS: dict[str, str] = {
    "adam": "Adam",
    "sgd": "SGD with momentum",
    "rmsprop": "RMSprop",
    "adadelta": "Adadelta",
    "adagrad": "Adagrad",
}
LR_SCHEDULES: dict[str, str] = {
    "cosine": "Cosine decay to 0",
    "constant": "Constant",
}
SGD_MOMENTUM = 0.9


@dataclass(frozen=True)
class TrainSettings:
    """Everything besides the spec and the data that decides a run's result.

    The defaults train the default preset to about 98.5% on MNIST in under a minute
    on 2 CPU cores (bench/default_accuracy.py measures it).
    """

    optimizer: str = "adam"
    learning_rate: float = 0.01
    lr_schedule: str = "cosine"
    batch_size: int = 128
    epochs: int = 4
    validation_split: float = 0.1
    seed: int = 0
    flip: bool = False
    rotation_degrees: float = 0.0
    zoom: float = 0.0
    translation: float = 0.0
    early_stopping: bool = False
    patience: int = 2

    def problems(self) -> list[str]:
        """Settings a user can get wrong, each as one sentence saying what to do."""
        out = []
        if self.optimizer not in OPTIMIZERS:
            out.append(f"Unknown optimizer '{self.optimizer}'; use one of {', '.join(OPTIMIZERS)}.")
        if self.lr_schedule not in LR_SCHEDULES:
            out.append(f"Unknown schedule '{self.lr_schedule}'; use 'cosine' or 'constant'.")
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            out.append("The learning rate must be a positive number, e.g. 0.001.")
        if not 1 <= self.batch_size <= 65536:
            out.append("The batch size must be a whole number from 1 to 65536.")
        if not 1 <= self.epochs <= 1000:
            out.append("Epochs must be a whole number from 1 to 1000.")
        if not 0 <= self.validation_split < 0.9:
            out.append("The validation split must be at least 0 and below 0.9 (e.g. 0.1).")
        if not 0 <= self.rotation_degrees <= 180:
            out.append("Rotation must be 0 to 180 degrees.")
        if not (0 <= self.zoom < 1 and 0 <= self.translation < 1):
            out.append("Zoom and translation must be fractions from 0 to below 1 (e.g. 0.1).")
        if self.patience < 1:
            out.append("Early-stopping patience must be at least 1 epoch.")
        return out

    @property
    def augmentation(self) -> bool:
        return bool(self.flip or self.rotation_degrees or self.zoom or self.translation)

    def summary(self) -> str:
        """One line, e.g. 'Adam lr 0.01 (cosine), batch 128, 4 epochs, val 10%, seed 0'."""
        lr = f"lr {self.learning_rate:g}" + (" (cosine)" if self.lr_schedule == "cosine" else "")
        parts = [
            f"{OPTIMIZERS.get(self.optimizer, self.optimizer)} {lr}",
            f"batch {self.batch_size}",
            count_text(self.epochs, "epoch"),
            f"val {self.validation_split:.0%}",
            f"seed {self.seed}",
        ]
        aug = [
            name
            for name, on in (
                ("flip", self.flip),
                (f"rotate ±{self.rotation_degrees:g}°", self.rotation_degrees),
                (f"zoom ±{self.zoom:.0%}", self.zoom),
                (f"shift ±{self.translation:.0%}", self.translation),
            )
            if on
        ]
        if aug:
            parts.append("aug: " + ", ".join(aug))
        if self.early_stopping:
            parts.append(f"early stop (patience {self.patience})")
        return ", ".join(parts)

    def extras_summary(self) -> str:
        """The augmentation and early stopping that are on, in words ('' when none is).

        >>> TrainSettings(flip=True, early_stopping=True).extras_summary()
        'flip left–right, early stopping (patience 2)'
        """
        words = [
            ("flip left–right", self.flip),
            (f"rotation ±{self.rotation_degrees:g}°", self.rotation_degrees),
            (f"zoom ±{self.zoom:g}", self.zoom),
            (f"shift ±{self.translation:g}", self.translation),
            (f"early stopping (patience {self.patience})", self.early_stopping),
        ]
        return ", ".join(text for text, on in words if on)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainSettings:
        known = {f.name: f.type for f in fields(cls)}
        kwargs = {}
        for key, value in data.items():
            if key in known:
                default = getattr(cls, key)
                kwargs[key] = type(default)(value)
        return cls(**kwargs)


def make_optimizer(settings: TrainSettings, total_steps: int) -> keras.optimizers.Optimizer:
    """The optimizer the settings name, with the learning rate (or its cosine decay)."""
    import keras

    lr: Any = settings.learning_rate
    if settings.lr_schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(settings.learning_rate, max(total_steps, 1))
    return {
        "adam": lambda: keras.optimizers.Adam(lr),
        "sgd": lambda: keras.optimizers.SGD(lr, momentum=SGD_MOMENTUM),
        "rmsprop": lambda: keras.optimizers.RMSprop(lr),
        "adadelta": lambda: keras.optimizers.Adadelta(lr),
        "adagrad": lambda: keras.optimizers.Adagrad(lr),
    }[settings.optimizer]()
