"""Kernels to convolve with: a library of classic image filters, and the ones a run learned.

Library kernels are correlation kernels, as a Conv2D uses them (no flip). Each
has a classic 3×3 form and a natural generalisation to other sizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

MAX_SIZE = 7


def _identity(k: int) -> np.ndarray:
    out = np.zeros((k, k))
    out[(k - 1) // 2, (k - 1) // 2] = 1
    return out


def _binomial(n: int) -> np.ndarray:
    return np.array([comb(n - 1, i) for i in range(n)], dtype=float)


def _box(k: int) -> np.ndarray:
    return np.full((k, k), 1 / k**2)


def _gaussian(k: int) -> np.ndarray:
    # Binomial weights are the discrete Gaussian: [1 2 1]/4 ⊗ [1 2 1]/4 at 3×3.
    row = _binomial(k)
    return np.outer(row, row) / row.sum() ** 2


def _sharpen(k: int) -> np.ndarray:
    if k == 3:
        return np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=float)
    # Unsharp mask: the image plus (image − its blur).
    return 2 * _identity(k) - _box(k)


def _derivative(k: int) -> np.ndarray:
    # Smoothed central difference: [-1 0 1] at 3, [-1 -2 0 2 1] at 5 (Sobel's rows).
    return np.convolve(_binomial(k - 2), [-1, 0, 1])


def _sobel_x(k: int) -> np.ndarray:
    return np.outer(_binomial(k), _derivative(k))


def _sobel_y(k: int) -> np.ndarray:
    return _sobel_x(k).T


def _prewitt(k: int) -> np.ndarray:
    # Plain (unweighted) smoothing across, a linear ramp along x.
    return np.outer(np.ones(k), np.arange(k) - (k - 1) / 2)


def _laplacian(k: int) -> np.ndarray:
    if k == 3:
        return np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=float)
    out = np.ones((k, k))
    out[k // 2, k // 2] = -(k * k - 1)
    return out


def _emboss(k: int) -> np.ndarray:
    idx = np.arange(k) - k // 2
    out = (idx[:, None] + idx[None, :]).astype(float)
    out[k // 2, k // 2] = 1
    return out


def _outline(k: int) -> np.ndarray:
    out = -np.ones((k, k))
    out[k // 2, k // 2] = k * k - 1
    return out


@dataclass(frozen=True)
class LibraryKernel:
    name: str
    make: Any  # size -> (size, size) array
    sizes: tuple[int, ...]
    about: str

    @property
    def default_size(self) -> int:
        """The size the page starts at: the classic 3×3 where there is one."""
        return 3 if 3 in self.sizes else self.sizes[0]


LIBRARY: dict[str, LibraryKernel] = {
    k.name: k
    for k in (
        LibraryKernel("identity", _identity, tuple(range(1, MAX_SIZE + 1)),
                      "Copies the input: one 1 in the middle."),
        LibraryKernel("box blur", _box, tuple(range(1, MAX_SIZE + 1)),
                      "Each output is the plain mean of its window."),
        LibraryKernel("Gaussian", _gaussian, tuple(range(1, MAX_SIZE + 1)),
                      "A weighted mean (binomial weights): a softer blur."),
        LibraryKernel("sharpen", _sharpen, (3, 5, 7),
                      "The image plus its difference from the neighbours: edges get stronger."),
        LibraryKernel("Sobel x", _sobel_x, (3, 5, 7),
                      "Smoothed left-to-right difference: bright on vertical edges going dark → light."),
        LibraryKernel("Sobel y", _sobel_y, (3, 5, 7),
                      "Smoothed top-to-bottom difference: finds horizontal edges."),
        LibraryKernel("Prewitt", _prewitt, (3, 5, 7),
                      "Like Sobel x but with equal weights across: vertical edges."),
        LibraryKernel("Laplacian", _laplacian, (3, 5, 7),
                      "Neighbours minus the centre: responds to edges in every direction, zero on flat areas."),
        LibraryKernel("emboss", _emboss, (3, 5, 7),
                      "A diagonal difference that keeps the image: looks like raised relief."),
        LibraryKernel("outline", _outline, (3, 5, 7),
                      "The centre minus all its neighbours: white outlines on black."),
    )
}  # fmt: skip


def library_kernel(name: str, size: int = 3) -> np.ndarray:
    """A library kernel at a size it supports, as float32 (size, size)."""
    entry = LIBRARY[name]
    if size not in entry.sizes:
        raise ValueError(f"{name} comes in sizes {entry.sizes}, not {size}.")
    return entry.make(size).astype(np.float32)


def kernel_table(kernel: np.ndarray) -> pd.DataFrame:
    """A (K, K) kernel as an editable table: one row per kernel row, columns "1".."K"."""
    import pandas as pd

    return pd.DataFrame(kernel, columns=[str(i + 1) for i in range(kernel.shape[1])])


def kernel_from_grid(values: Any) -> np.ndarray:
    """The edited grid as a float32 kernel; ValueError (one sentence) if a cell is not a number."""
    grid = np.asarray(values, dtype=object)
    try:
        kernel = grid.astype(np.float32)
    except (TypeError, ValueError):
        raise ValueError("Every kernel cell must be a number; fix the cell you typed.") from None
    bad = np.argwhere(~np.isfinite(kernel))
    if len(bad):
        r, c = bad[0]
        raise ValueError(
            f"Kernel cell in row {r + 1}, column {c + 1} is empty; type a number (0 for none)."
        )
    return kernel


# --- learned kernels ------------------------------------------------------------


@dataclass
class LearnedKernels:
    """The weights of a model's first Conv2D layer."""

    layer_name: str
    kernels: np.ndarray  # (K, K, Cin, F)
    bias: np.ndarray  # (F,)
    strides: int
    padding: str
    dilation: int

    @property
    def n_filters(self) -> int:
        return int(self.kernels.shape[3])

    @property
    def in_channels(self) -> int:
        return int(self.kernels.shape[2])


def first_conv_kernels(model: Any) -> LearnedKernels | None:
    """The first Conv2D layer's kernels of a Keras model, or None if it has none.

    Reads weights from the model object already in memory, so it imports no TensorFlow.
    """
    if model is None:
        return None
    for layer in getattr(model, "layers", []):
        if type(layer).__name__ != "Conv2D":
            continue
        weights = layer.get_weights()
        kernels = np.asarray(weights[0], dtype=np.float32)
        bias = (
            np.asarray(weights[1], dtype=np.float32)
            if len(weights) > 1
            else np.zeros(kernels.shape[3], dtype=np.float32)
        )
        config = layer.get_config()

        def first(value: Any) -> Any:
            return value[0] if isinstance(value, list | tuple) else value

        return LearnedKernels(
            layer.name,
            kernels,
            bias,
            int(first(config.get("strides", 1))),
            str(config.get("padding", "valid")),
            int(first(config.get("dilation_rate", 1))),
        )
    return None


def runs_with_kernels(runs: list[Any]) -> list[Any]:
    """Runs whose trained model has a Conv2D layer to take kernels from (newest first)."""
    return [
        run
        for run in runs
        if run.model is not None  # done or stopped: queued, training and failed have none
        and any(type(layer).__name__ == "Conv2D" for layer in run.model.layers)
    ]
