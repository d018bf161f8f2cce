"""Which devices a training run uses: one, or several under tf.distribute.MirroredStrategy.

The environment variable CNNLAB_DEVICES chooses, once per process:

- ``auto`` (the default): MirroredStrategy over every visible GPU when there are two
  or more, else TensorFlow's default strategy on the one GPU or the CPU;
- ``single``: always one device, even with several GPUs;
- ``cpu:N``: split the CPU into N logical devices and mirror over them. This is for
  tests and demos of the multi-device path on a machine without GPUs; it only works
  when it is the first thing TensorFlow does in the process.

Under MirroredStrategy each batch from the tf.data pipeline is the *global* batch: the
strategy splits it across the replicas and averages their gradients, so the batch size
a user sets means the same with one device or eight.
TensorFlow is imported inside functions only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tensorflow as tf

_LOG = logging.getLogger(__name__)

ENV_VAR = "CNNLAB_DEVICES"
MIRRORED = "MirroredStrategy"
DEFAULT = "default"
MAX_LOGICAL_CPUS = 64

_PLAN: DevicePlan | None = None
_PLAN_LOCK = threading.Lock()


@dataclass(frozen=True)
class DevicePlan:
    """The devices training uses in this process and the strategy over them."""

    strategy: str  # MIRRORED or DEFAULT
    devices: tuple[str, ...]  # TensorFlow device names
    note: str | None = None  # why the plan differs from what CNNLAB_DEVICES asked for

    @property
    def count(self) -> int:
        return len(self.devices)

    @property
    def mirrored(self) -> bool:
        return self.strategy == MIRRORED

    @property
    def kind(self) -> str:
        """'GPU' or 'CPU', from the first device's name."""
        return "GPU" if self.devices and "GPU" in self.devices[0].upper() else "CPU"

    def summary(self) -> str:
        """E.g. 'MirroredStrategy on 2 CPU devices' or '1 CPU device (default strategy)'."""
        if self.mirrored:
            return f"{MIRRORED} on {self.count} {self.kind} devices"
        return f"1 {self.kind} device (default strategy)"

    def cache_key(self) -> str | None:
        """What the run fingerprint adds for this plan; None for one device, so
        single-device fingerprints are the same as before multi-device support."""
        return f"{self.strategy}:{self.count}:{self.kind}" if self.mirrored else None


def parse_request(text: str | None) -> tuple[str, int]:
    """('auto'|'single'|'cpu', n) from a CNNLAB_DEVICES value; ValueError says what to use."""
    value = (text or "auto").strip().lower()
    if value in ("auto", "single"):
        return value, 0
    if value.startswith("cpu:"):
        try:
            n = int(value[4:])
        except ValueError:
            n = 0
        if 1 <= n <= MAX_LOGICAL_CPUS:
            return "cpu", n
    raise ValueError(
        f"{ENV_VAR}={text!r} is not understood; use auto, single or cpu:N "
        f"(N from 1 to {MAX_LOGICAL_CPUS})."
    )


def device_plan() -> DevicePlan:
    """This process's plan, decided on first use from CNNLAB_DEVICES and the visible
    devices. It never changes afterwards: TensorFlow's devices are fixed once it starts."""
    global _PLAN
    with _PLAN_LOCK:
        if _PLAN is None:
            _PLAN = _make_plan(os.environ.get(ENV_VAR))
            _LOG.info("training devices: %s", _PLAN.summary())
        return _PLAN


def _make_plan(request: str | None) -> DevicePlan:
    import tensorflow as tf

    note = None
    try:
        mode, n = parse_request(request)
    except ValueError as exc:
        mode, n, note = "auto", 0, f"{exc} Using auto."
    if mode == "cpu":
        cpus = _logical_cpus(tf, n)
        if len(cpus) >= n > 1:
            return DevicePlan(MIRRORED, tuple(cpus[:n]), note)
        if n > 1:
            note = (
                f"{ENV_VAR}=cpu:{n} came after TensorFlow had set up its devices, so "
                "training uses one device; set it before the app or CLI starts."
            )
        return DevicePlan(DEFAULT, (cpus[0] if cpus else "/device:CPU:0",), note)
    gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    if mode == "auto" and len(gpus) > 1:
        return DevicePlan(MIRRORED, tuple(gpus), note)
    first = gpus[0] if gpus else tf.config.list_logical_devices("CPU")[0].name
    return DevicePlan(DEFAULT, (first,), note)


def _logical_cpus(tf: Any, n: int) -> list[str]:
    """Split the first physical CPU into n logical devices (only possible before
    TensorFlow initializes them) and return the logical CPUs' names."""
    if n > 1:
        # RuntimeError: already initialized; use whatever logical CPUs exist.
        with contextlib.suppress(RuntimeError):
            tf.config.set_logical_device_configuration(
                tf.config.list_physical_devices("CPU")[0],
                [tf.config.LogicalDeviceConfiguration() for _ in range(n)],
            )
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def choose_strategy(plan: DevicePlan | None = None) -> tf.distribute.Strategy:
    """MirroredStrategy over the plan's devices when it has several, else the default
    strategy. A new MirroredStrategy per run: concurrent runs share no reduction state."""
    import tensorflow as tf

    plan = plan or device_plan()
    if plan.mirrored:
        return tf.distribute.MirroredStrategy(devices=list(plan.devices))
    return tf.distribute.get_strategy()
