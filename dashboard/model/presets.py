"""Preset architectures, stored as JSON specs in models/presets/.

A preset may carry its recipe: `train_settings`, the Train settings it was made for
(the Train page offers them, the CLI uses them when no setting is given).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from dashboard.model.spec import ModelSpec

PRESET_DIR = Path(__file__).resolve().parents[2] / "models" / "presets"
# The order the UI lists them in: the fast default first, then the articles' models.
PRESET_ORDER = (
    "default",
    "fast_mnist",
    "photos32",
    "mnist_cnn",
    "lenet5",
    "tiny_vgg",
    "cats_vs_dogs",
    "dense_only",
)


def preset_names() -> list[str]:
    found = {path.stem for path in PRESET_DIR.glob("*.json")}
    return [name for name in PRESET_ORDER if name in found] + sorted(found - set(PRESET_ORDER))


@cache
def _preset_json(name: str) -> str:
    path = PRESET_DIR / f"{name}.json"
    if not path.is_file():
        raise KeyError(f"No preset named '{name}'. Presets: {', '.join(preset_names())}.")
    return path.read_text(encoding="utf-8")


def load_preset(name: str) -> ModelSpec:
    """A fresh copy of a preset spec (callers may edit it)."""
    return ModelSpec.from_json(_preset_json(name))


def preset_train_settings(name: str) -> dict[str, Any] | None:
    """The Train settings a preset was made for (see TrainSettings), or None."""
    try:
        recipe = json.loads(_preset_json(name)).get("train_settings")
    except KeyError:
        return None
    return dict(recipe) if isinstance(recipe, dict) else None


def edited_from_preset(spec: ModelSpec) -> bool:
    """True when `spec` carries a preset's name but no longer its layers: the preset's
    description then describes another model."""
    if spec.name not in preset_names():
        return False
    preset = load_preset(spec.name)
    return [layer.to_dict() for layer in spec.layers] != [
        layer.to_dict() for layer in preset.layers
    ]
