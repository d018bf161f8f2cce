"""Training runs. (Interface only for now: the training work fills it in.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dashboard.spec import ModelSpec

RUN_STATUSES = ("queued", "training", "stopped", "done", "failed")


@dataclass
class Run:
    """One training run: what was trained, on what, and what came of it.

    `model` is a keras.Model once the run is done or stopped, else None.
    """

    id: str
    spec: ModelSpec
    dataset_name: str
    class_names: list[str]
    settings: dict[str, Any] = field(default_factory=dict)
    status: str = "queued"
    model: Any = None
    history: list[dict[str, float]] = field(default_factory=list)
    error: str | None = None

    @property
    def label(self) -> str:
        return f"{self.spec.name} on {self.dataset_name} ({self.id})"
