"""Preset architectures, stored as JSON specs in models/presets/."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from dashboard.model.spec import ModelSpec

PRESET_DIR = Path(__file__).resolve().parents[2] / "models" / "presets"
# The order the UI lists them in: the fast default first, then the articles' models.
PRESET_ORDER = ("default", "mnist_cnn", "lenet5", "tiny_vgg", "cats_vs_dogs", "dense_only")


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
