"""The Convolution page's whole computation: input -> conv -> ReLU -> pool, with the geometry
and a clear message wherever a setting gives no output."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from dashboard.explore import conv_ops
from dashboard.explore.conv_images import STEP_MAX_SIDE, shrink
from dashboard.explore.conv_ops import ConvError, Geometry, Padding, Pair, Step

if TYPE_CHECKING:
    from dashboard.explore.kernels import LearnedKernels

POOL_CHOICES = ("max", "average", "none")


@dataclass(frozen=True)
class ColorMode:
    channels: int  # channels the input gets
    per_channel: bool  # each channel convolved on its own, or all summed into one map


COLOR_MODES = {
    "Grayscale": ColorMode(1, False),
    "RGB, each channel on its own": ColorMode(3, True),
    "RGB, channels summed (as Conv2D)": ColorMode(3, False),
}


def step_input(x: np.ndarray) -> np.ndarray:
    """The input for step by step: the image itself if small, else a shrunk copy."""
    return shrink(x, STEP_MAX_SIDE)


@dataclass(frozen=True)
class ConvSettings:
    """Every knob of the page except the image and the kernel."""

    stride: Pair = (1, 1)
    padding: Padding = "valid"
    dilation: int = 1
    relu: bool = True
    pool: str = "max"  # one of POOL_CHOICES
    pool_size: int = 2
    pool_stride: int = 2
    pool_padding: str = "valid"


@dataclass
class KernelChoice:
    """What to convolve with.

    `weights` is (K, K) for a single kernel, or (K, K, Cin, F) for a bank (learned kernels).
    A (K, K) kernel with `per_channel` is used on each colour channel on its own
    (the output keeps the colours); without it the channels are summed, as Conv2D does.
    """

    weights: np.ndarray
    per_channel: bool = False
    bias: np.ndarray | None = None


def learned_kernel(learned: LearnedKernels, index: int, add_bias: bool = True) -> KernelChoice:
    """Filter `index` of a learned bank, used as its Conv2D layer uses it (channels summed)."""
    return KernelChoice(
        learned.kernels[:, :, :, index : index + 1],
        bias=learned.bias[index : index + 1] if add_bias else None,
    )


def channel_kernels(kernel: KernelChoice, channels: int) -> list[np.ndarray]:
    """The (K, K) kernel that meets each of the input's `channels`, in channel order."""
    weights = np.asarray(kernel.weights)
    if weights.ndim == 2:  # one kernel slides over every channel
        return [weights] * channels
    return [weights[:, :, c, 0] for c in range(channels)]


@dataclass
class Result:
    input: np.ndarray
    conv_geometry: Geometry
    conv: np.ndarray | None = None
    activated: np.ndarray | None = None
    pool_geometry: Geometry | None = None
    pooled: np.ndarray | None = None
    error: str | None = None  # why the chain stopped, one sentence
    notes: list[str] = field(default_factory=list)


def run(x: np.ndarray, kernel: KernelChoice, settings: ConvSettings) -> Result:
    """Convolve, apply ReLU if asked, pool; stop with a message where a step cannot be done."""
    k = np.asarray(kernel.weights)
    geo = conv_ops.geometry(
        x.shape[:2], k.shape[:2], settings.stride, settings.padding, settings.dilation
    )
    result = Result(x, geo)
    if max(settings.stride) > 1 and settings.dilation > 1:
        result.notes.append(
            "Keras' Conv2D refuses a stride above 1 together with a dilation above 1; "
            "the arithmetic still works, so it is shown here."
        )
    result.error = conv_ops.fit_error(geo, "kernel")
    if result.error:
        return result
    try:
        if kernel.per_channel and k.ndim == 2:
            conv = conv_ops.depthwise_conv2d(
                x, k, settings.stride, settings.padding, settings.dilation
            )
        else:
            conv = conv_ops.conv2d(
                x, k, settings.stride, settings.padding, settings.dilation, kernel.bias
            )
    except ConvError as exc:
        result.error = str(exc)
        return result
    result.conv = conv
    result.activated = conv_ops.relu(conv) if settings.relu else conv
    if settings.pool == "none":
        return result
    pool_geo = conv_ops.geometry(
        conv.shape[:2], settings.pool_size, settings.pool_stride, settings.pool_padding
    )
    result.pool_geometry = pool_geo
    result.error = conv_ops.fit_error(pool_geo, "pool window", "convolution output")
    if result.error is None:
        result.pooled = conv_ops.pool2d(
            result.activated, settings.pool, settings.pool_size, settings.pool_stride,
            settings.pool_padding,
        )  # fmt: skip
    return result


# --- what the page shows of a result ---------------------------------------------------
NO_OUTPUT = "No output: see the message above."
RELU_OFF = "ReLU is off: the pooling takes the convolution output as it is."
POOL_OFF = "Pooling is off."


@dataclass(frozen=True)
class Panel:
    """One of the four pictures: its title and values, or the sentence shown instead."""

    title: str
    values: np.ndarray | None
    empty: str = ""


def panels(result: Result, settings: ConvSettings) -> list[Panel]:
    """Input, convolution output, after ReLU and pooled, in the order the page shows them."""
    relu_empty = NO_OUTPUT if settings.relu or result.conv is None else RELU_OFF
    return [
        Panel("Input", result.input),
        Panel("Convolution output", result.conv, NO_OUTPUT),
        Panel("After ReLU", result.activated if settings.relu else None, relu_empty),
        Panel("Pooled", result.pooled, POOL_OFF if settings.pool == "none" else NO_OUTPUT),
    ]


def step_geometry(in_size: Pair, kernel: np.ndarray, settings: ConvSettings) -> Geometry:
    """Where the kernel goes over the step-by-step input of `in_size` = (H, W)."""
    return conv_ops.geometry(
        in_size, kernel.shape, settings.stride, settings.padding, settings.dilation
    )


def step_at(image: np.ndarray, kernel: np.ndarray, cell: int, settings: ConvSettings) -> Step:
    """Output cell `cell` (row by row) of one channel's convolution, for step by step."""
    return conv_ops.conv_step(
        image, kernel, cell, settings.stride, settings.padding, settings.dilation
    )


def window_in_input(step: Step) -> tuple[list[int], list[int]]:
    """The input rows and columns a step's window reads; below 0 or past the end is padding."""
    (top, _), (left, _) = step.geometry.pads
    return [int(r) - top for r in step.rows], [int(c) - left for c in step.cols]
