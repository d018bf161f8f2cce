"""Convolution and pooling in NumPy, with stride, padding and dilation, as Keras computes them.

Images are (H, W, C) arrays. Every function here matches `keras.ops.conv`,
`keras.ops.depthwise_conv`, `keras.ops.max_pool` and `keras.ops.average_pool`
(tests hold it to them), but needs no TensorFlow, so the Convolution page stays light.

The convolution is a shift-and-add over the kernel offsets: for each of the K×K
offsets, the (strided, dilated) slice of the padded input is weighted and added to
the output. Conv2D does it with one matrix product per offset (channels × filters,
in BLAS); the depthwise convolution and pooling combine the slices a block of rows
at a time, so the data stays in the CPU's cache. Either way a few dozen NumPy calls
replace a loop over output pixels, and on one image they keep up with Keras.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dashboard.model.shape_math import formula_text, output_size, padding_split

Pair = tuple[int, int]
Padding = str | int


class ConvError(ValueError):
    """Settings that give no output; the message says what to change."""


def pair(value: int | tuple[int, int] | list[int]) -> Pair:
    """(rows, cols) from one number or a pair."""
    if isinstance(value, int | np.integer):
        return int(value), int(value)
    rows, cols = value
    return int(rows), int(cols)


@dataclass(frozen=True)
class Geometry:
    """Where a sliding window goes over an input: sizes, padding and output shape per axis."""

    in_size: Pair
    kernel: Pair
    stride: Pair
    dilation: Pair
    padding: Padding

    @property
    def pads(self) -> tuple[Pair, Pair]:
        """((top, bottom), (left, right)) zero pixels."""
        return (
            padding_split(self.in_size[0], self.kernel[0], self.stride[0], self.padding, self.dilation[0]),
            padding_split(self.in_size[1], self.kernel[1], self.stride[1], self.padding, self.dilation[1]),
        )  # fmt: skip

    @property
    def out_size(self) -> Pair:
        return (
            output_size(self.in_size[0], self.kernel[0], self.stride[0], self.padding, self.dilation[0]),
            output_size(self.in_size[1], self.kernel[1], self.stride[1], self.padding, self.dilation[1]),
        )  # fmt: skip

    @property
    def span(self) -> Pair:
        """Pixels one window covers along each axis: D·(K−1) + 1."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation, strict=True))  # type: ignore[return-value]

    @property
    def fits(self) -> bool:
        return min(self.out_size) > 0

    def formulas(self) -> dict[str, str]:
        """The output-size formula with these numbers, for height ('H') and width ('W')."""
        return {
            axis: formula_text(
                self.in_size[i], self.kernel[i], self.stride[i], self.padding, self.dilation[i]
            )
            for i, axis in enumerate("HW")
        }


def geometry(
    in_size: Pair,
    kernel: int | Pair,
    stride: int | Pair = 1,
    padding: Padding = "valid",
    dilation: int | Pair = 1,
) -> Geometry:
    """The geometry of one convolution or pooling over an input of `in_size` = (H, W)."""
    kernel, stride, dilation = pair(kernel), pair(stride), pair(dilation)
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1:
        raise ConvError("Kernel size, stride and dilation must each be at least 1.")
    if not (padding in ("valid", "same") or (isinstance(padding, int) and padding >= 0)):
        raise ConvError(
            f"Padding must be 'valid', 'same' or a number of pixels ≥ 0, not {padding!r}."
        )
    return Geometry(pair(in_size), kernel, stride, dilation, padding)


def output_shape(
    in_size: Pair,
    kernel: int | Pair,
    stride: int | Pair = 1,
    padding: Padding = "valid",
    dilation: int | Pair = 1,
) -> Pair:
    """Output (H, W) of a convolution or pooling; a value ≤ 0 means the window does not fit."""
    return geometry(in_size, kernel, stride, padding, dilation).out_size


def fit_error(geo: Geometry, what: str = "kernel", input_name: str = "input") -> str | None:
    """One sentence saying why these settings give no output, or None when they do."""
    if geo.fits:
        return None
    axis = 0 if geo.out_size[0] <= 0 else 1
    name = ("height", "width")[axis]
    formula = geo.formulas()["HW"[axis]]
    kh, kw = geo.kernel
    span = geo.span[axis]
    reach = (
        f" (spanning {span} pixels with dilation {geo.dilation[axis]})"
        if span > geo.kernel[axis]
        else ""
    )
    pad = geo.padding if isinstance(geo.padding, str) else f"{geo.padding} pixels of"
    fixes = "'same' padding, more padding, a smaller kernel or a smaller dilation"
    if what != "kernel":
        fixes = "'same' padding or a smaller pool window"
    return (
        f"The {kh}×{kw} {what}{reach} does not fit the {geo.in_size[0]}×{geo.in_size[1]} "
        f"{input_name} with {pad} padding: the output {name} would be {formula}. Use {fixes}."
    )


def _check(geo: Geometry, what: str) -> None:
    message = fit_error(geo, what)
    if message:
        raise ConvError(message)


def as_image(x: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, C) -> float32 (H, W, C)."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3:
        raise ConvError(
            f"An image must be (height, width) or (height, width, channels), not {x.shape}."
        )
    return x


def pad(x: np.ndarray, pads: tuple[Pair, Pair], value: float = 0.0) -> np.ndarray:
    """Pad an (H, W, C) image with `value` by ((top, bottom), (left, right)) pixels."""
    x = as_image(x)
    if not any(pads[0]) and not any(pads[1]):
        return x
    return np.pad(x, (pads[0], pads[1], (0, 0)), constant_values=value)


def _tap(geo: Geometry, i: int, j: int) -> tuple[slice, slice]:
    """Slices of the padded input that kernel offset (i, j) meets, one per output pixel."""
    (ho, wo), (sh, sw), (dh, dw) = geo.out_size, geo.stride, geo.dilation
    r0, c0 = i * dh, j * dw
    return slice(r0, r0 + (ho - 1) * sh + 1, sh), slice(c0, c0 + (wo - 1) * sw + 1, sw)


def _as_kernel_bank(kernels: np.ndarray, channels: int) -> np.ndarray:
    """A kernel as (Kh, Kw, C, F): 2-D kernels are used on every channel, summed (one output)."""
    k = np.asarray(kernels, dtype=np.float32)
    if k.ndim == 2:
        k = np.repeat(k[:, :, None, None], channels, axis=2)
    elif k.ndim == 3:
        k = k[:, :, :, None]
    if k.ndim != 4 or k.shape[2] != channels:
        raise ConvError(
            f"The kernels have shape {k.shape}, but the input has {channels} channel(s); "
            "use kernels of shape (K, K, channels, filters)."
        )
    return k


def conv2d(
    x: np.ndarray,
    kernels: np.ndarray,
    stride: int | Pair = 1,
    padding: Padding = "valid",
    dilation: int | Pair = 1,
    bias: np.ndarray | float | None = None,
) -> np.ndarray:
    """Conv2D of one (H, W, C) image with kernels (Kh, Kw, C, F) -> (Ho, Wo, F).

    Args:
        x: the image, (H, W) or (H, W, C).
        kernels: (Kh, Kw, C, F), or one (Kh, Kw) kernel used on every channel with the
            channels summed, as a Conv2D with one filter does.
        stride, dilation: one number or (rows, columns).
        padding: 'valid', 'same' (TensorFlow's split) or zero pixels on each side.
        bias: added to each filter's output.

    Returns:
        (Ho, Wo, F) float32, each side `spec.output_size` of the input's.

    Raises:
        ConvError: with one sentence, when the kernel does not fit.

    Example:
        >>> image = np.arange(16, dtype=np.float32).reshape(4, 4)
        >>> conv2d(image, np.ones((2, 2)))[..., 0]  # sums of each 2×2 window
        array([[10., 14., 18.],
               [26., 30., 34.],
               [42., 46., 50.]], dtype=float32)
        >>> conv2d(image, np.ones((3, 3)), stride=2, padding="same").shape
        (2, 2, 1)

    Long for its docstring: the code is a dozen lines.
    """
    x = as_image(x)
    bank = _as_kernel_bank(kernels, x.shape[2])
    geo = geometry(x.shape[:2], bank.shape[:2], stride, padding, dilation)
    _check(geo, "kernel")
    xp = pad(x, geo.pads)
    out = np.zeros((*geo.out_size, bank.shape[3]), dtype=np.float32)
    tmp = np.empty_like(out)
    for i in range(bank.shape[0]):
        for j in range(bank.shape[1]):
            weights = bank[i, j]  # (C, F): this offset's weight of every channel and filter
            if not weights.any():  # zero weights add nothing; skipping them is free speed
                continue
            rows, cols = _tap(geo, i, j)
            # One matrix product per offset sums the channels for every filter at once.
            np.matmul(xp[rows, cols], weights, out=tmp)
            out += tmp
    if bias is not None:
        out = out + np.asarray(bias, dtype=np.float32)
    return out


def depthwise_conv2d(
    x: np.ndarray,
    kernel: np.ndarray,
    stride: int | Pair = 1,
    padding: Padding = "valid",
    dilation: int | Pair = 1,
) -> np.ndarray:
    """Each channel of (H, W, C) convolved on its own with one (Kh, Kw) kernel -> (Ho, Wo, C).

    This is what "apply a filter to a colour photo" means in an image editor, and
    Keras' DepthwiseConv2D with the same kernel on every channel.
    """
    x = as_image(x)
    k = np.asarray(kernel, dtype=np.float32)
    if k.ndim != 2:
        raise ConvError(f"A depthwise kernel must be 2-D (Kh, Kw), not {k.shape}.")
    geo = geometry(x.shape[:2], k.shape, stride, padding, dilation)
    _check(geo, "kernel")
    taps = [((i, j), float(k[i, j])) for i in range(k.shape[0]) for j in range(k.shape[1])]
    taps = [tap for tap in taps if tap[1] != 0] or [((0, 0), 0.0)]
    return _combine_taps(pad(x, geo.pads), geo, taps, "sum")


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


POOL_TYPES = ("max", "average")


def pool2d(
    x: np.ndarray,
    kind: str,
    pool_size: int | Pair = 2,
    stride: int | Pair | None = None,
    padding: str = "valid",
) -> np.ndarray:
    """Max or average pooling of (H, W, C) -> (Ho, Wo, C).

    Args:
        x: the image or feature maps, (H, W) or (H, W, C).
        kind: 'max' or 'average'.
        pool_size: the window, one number or (rows, columns).
        stride: the step; defaults to the pool size.
        padding: 'valid' or 'same'. With 'same' the padded cells take no part: a max
            ignores them, and an average divides by the real pixels in the window, as
            Keras does.

    Returns:
        (Ho, Wo, C) float32.

    Example:
        >>> image = np.arange(16, dtype=np.float32).reshape(4, 4)
        >>> pool2d(image, "max")[..., 0]
        array([[ 5.,  7.],
               [13., 15.]], dtype=float32)
        >>> pool2d(image, "average", 3, stride=2, padding="same")[..., 0]  # edges: real pixels only
        array([[ 5. ,  6.5],
               [11. , 12.5]], dtype=float32)
    """
    if kind not in POOL_TYPES:
        raise ConvError(f"Pooling is 'max' or 'average', not {kind!r}.")
    if padding not in ("valid", "same"):
        raise ConvError(f"Pooling padding is 'valid' or 'same', not {padding!r}.")
    x = as_image(x)
    size = pair(pool_size)
    geo = geometry(x.shape[:2], size, size if stride is None else stride, padding)
    _check(geo, "pool window")
    fill = -np.inf if kind == "max" else 0.0
    taps = [((i, j), 1.0) for i in range(size[0]) for j in range(size[1])]
    out = _combine_taps(pad(x, geo.pads, fill), geo, taps, "max" if kind == "max" else "sum")
    if kind == "average":
        out /= _window_counts(geo)[:, :, None]
    return out


# Output values combined per pass: a block of every offset's slice stays in the CPU's
# cache (256 KB), so the K·K passes cost little more than one: about 3× faster than
# whole-image passes on a 512×512×3 photo (AMD EPYC, 2 cores). Small outputs go in
# one block, where more passes would only add Python overhead.
VALUES_PER_PASS = 65_536


def _combine_taps(
    xp: np.ndarray, geo: Geometry, taps: list[tuple[Pair, float]], how: str
) -> np.ndarray:
    """Σ weight · slice (how='sum') or the max of the slices (how='max', weights unused)
    over the kernel offsets `taps` of the padded input, a block of output rows at a time."""
    (ho, wo), sh = geo.out_size, geo.stride[0]
    rows_per_pass = max(1, VALUES_PER_PASS // (wo * xp.shape[2]))
    out = np.empty((ho, wo, xp.shape[2]), dtype=np.float32)
    tmp = np.empty((min(rows_per_pass, ho), wo, xp.shape[2]), dtype=np.float32)
    for r0 in range(0, ho, rows_per_pass):
        r1 = min(r0 + rows_per_pass, ho)
        block, scratch = out[r0:r1], tmp[: r1 - r0]
        for n, ((i, j), weight) in enumerate(taps):
            rows, cols = _tap(geo, i, j)
            start = rows.start + r0 * sh
            view = xp[start : start + (r1 - r0 - 1) * sh + 1 : sh, cols]
            if how == "max":
                if n == 0:
                    np.copyto(block, view)
                else:
                    np.maximum(block, view, out=block)
            elif n == 0:
                np.multiply(view, weight, out=block)
            elif weight == 1.0:
                block += view
            else:
                np.multiply(view, weight, out=scratch)
                block += scratch
    return out


def _window_counts(geo: Geometry) -> np.ndarray:
    """Real (unpadded) pixels under each output's window: a product of per-axis counts."""
    counts = []
    for axis in range(2):
        before = geo.pads[axis][0]
        starts = np.arange(geo.out_size[axis]) * geo.stride[axis] - before
        offsets = np.arange(geo.kernel[axis])
        positions = starts[:, None] + offsets[None, :]
        counts.append(((positions >= 0) & (positions < geo.in_size[axis])).sum(axis=1))
    return np.outer(counts[0], counts[1]).astype(np.float32)


def max_pool(
    x: np.ndarray,
    pool_size: int | Pair = 2,
    stride: int | Pair | None = None,
    padding: str = "valid",
) -> np.ndarray:
    return pool2d(x, "max", pool_size, stride, padding)


def average_pool(
    x: np.ndarray,
    pool_size: int | Pair = 2,
    stride: int | Pair | None = None,
    padding: str = "valid",
) -> np.ndarray:
    return pool2d(x, "average", pool_size, stride, padding)


# --- one output cell at a time (step-by-step view) -------------------------------


def input_window(geo: Geometry, out_row: int, out_col: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the padded input that output cell (out_row, out_col) reads.

    Subtract the top/left padding to get coordinates in the original input;
    those outside 0..H-1 / 0..W-1 are padding.
    """
    ho, wo = geo.out_size
    if not (0 <= out_row < ho and 0 <= out_col < wo):
        raise ConvError(f"Output cell ({out_row}, {out_col}) is outside the {ho}×{wo} output.")
    rows = out_row * geo.stride[0] + np.arange(geo.kernel[0]) * geo.dilation[0]
    cols = out_col * geo.stride[1] + np.arange(geo.kernel[1]) * geo.dilation[1]
    return rows, cols


@dataclass
class Step:
    """Everything the step-by-step view shows for one output cell of a 2-D convolution."""

    geometry: Geometry
    padded: np.ndarray  # (Hp, Wp) input with its zero padding
    kernel: np.ndarray  # (Kh, Kw)
    index: int  # output cell number, row-major
    row: int
    col: int
    rows: np.ndarray  # padded-input rows of the window
    cols: np.ndarray
    window: np.ndarray  # (Kh, Kw) input values under the kernel
    products: np.ndarray  # window * kernel
    total: float  # the output value: sum of the products
    output: np.ndarray  # (Ho, Wo) whole output, for the filling-in picture

    @property
    def n_cells(self) -> int:
        return int(np.prod(self.geometry.out_size))


def conv_step(
    x: np.ndarray,
    kernel: np.ndarray,
    index: int,
    stride: int | Pair = 1,
    padding: Padding = "valid",
    dilation: int | Pair = 1,
) -> Step:
    """Output cell `index` (row-major) of the convolution of a 2-D image with a 2-D kernel."""
    x2 = np.asarray(x, dtype=np.float32)
    k = np.asarray(kernel, dtype=np.float32)
    if x2.ndim != 2 or k.ndim != 2:
        raise ConvError("Step by step works on one channel: a 2-D input and a 2-D kernel.")
    geo = geometry(x2.shape, k.shape, stride, padding, dilation)
    _check(geo, "kernel")
    ho, wo = geo.out_size
    index = int(np.clip(index, 0, ho * wo - 1))
    row, col = divmod(index, wo)
    rows, cols = input_window(geo, row, col)
    padded = pad(x2, geo.pads)[:, :, 0]
    window = padded[np.ix_(rows, cols)]
    products = window * k
    output = conv2d(x2, k, stride, padding, dilation)[:, :, 0]
    return Step(geo, padded, k, index, row, col, rows, cols, window, products,
                float(products.sum()), output)  # fmt: skip
