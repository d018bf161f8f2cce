"""Convolution and pooling in NumPy, with stride, padding and dilation, as Keras computes them.

Images are (H, W, C) arrays. Every function here matches `keras.ops.conv`,
`keras.ops.depthwise_conv`, `keras.ops.max_pool` and `keras.ops.average_pool`
(tests hold it to them), but needs no TensorFlow, so the Convolution page stays light.

The convolution is a shift-and-add over the kernel offsets: for each of the K×K
offsets, the (strided, dilated) slice of the padded input is weighted and added to
the output. Conv2D does it with one matrix product per offset (channels × filters,
in BLAS). The depthwise convolution does all offsets of a few output rows in one
matrix product, and pooling combines whole rows, then neighbouring pixels, in flat
runs (see the section before `_depthwise`). Either way a few dozen NumPy calls
replace a loop over output pixels, and on one image they beat Keras.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

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
    return _depthwise(x, k, geo)


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
    if kind == "max":
        return _pool(x, geo, np.maximum, -np.inf)
    out = _pool(x, geo, np.add, 0.0)
    if any(geo.pads[0] + geo.pads[1]):
        out /= _window_counts(geo)[:, :, None]
    else:  # every window is whole: one divisor, and a flat division
        out /= np.float32(size[0] * size[1])
    return out


# --- depthwise convolution and pooling, a block of whole rows at a time ------------------
#
# NumPy is fast on long contiguous runs and slow on anything else: the same addition
# runs ~3× slower on 2-D views with gaps between rows, and ~30× slower with a short
# inner axis such as a pixel's 3 channels. So images are handled as flat rows of W·C
# values, where the next row is a row further and the next pixel C values further:
# pooling combines one contiguous slice with another, and the depthwise convolution
# lets BLAS, which takes strides as they come, do all of a kernel's multiply-adds in
# one product. Work arrays are reused, one set per thread (~5 MB for a 512×512×3
# image); only the output is a new array. On that image this took the depthwise
# convolution from ~6 ms to ~0.7 ms and the 2×2 max pool from ~1.3 ms to ~0.3 ms,
# about half of Keras' time (AMD EPYC, 2 cores; docs/decisions/0003-explorer-convolution.md).

# Output values per pass: big enough that NumPy's and BLAS' cost per call is small
# beside the work (64 K values per pass was ~25% slower), small enough that a pass's
# work arrays stay in L2 or L3 cache.
VALUES_PER_PASS = 262_144
# Output rows per matrix product in the depthwise convolution: 2 did best (1: more
# BLAS calls; 4 and more: more multiplications by the band's zeros; see `_depthwise`).
ROWS_PER_PRODUCT = 2

_scratch = threading.local()


def _work(name: str, size: int) -> np.ndarray:
    """A float32 work array of `size` values, kept for this thread and reused by later calls.

    Reuse spares the allocator: a fresh 3 MB array per call meant fresh pages from the
    system each time. Per thread, because the Streamlit server runs sessions in threads;
    never returned to a caller, nor viewed by anything returned."""
    buf = getattr(_scratch, name, None)
    if buf is None or buf.size < size:
        buf = np.empty(size, dtype=np.float32)
        setattr(_scratch, name, buf)
    return buf[:size]


def _copy_rows(
    x: np.ndarray, geo: Geometry, fill: float, first: int, count: int, flat: np.ndarray
) -> np.ndarray:
    """Padded-input rows first… (`count` of them) into `flat`, one after another; the
    padding gets `fill`."""
    (top, _), (left, right) = geo.pads
    h, w, c = x.shape
    rows = flat[: count * (left + w + right) * c].reshape(count, left + w + right, c)
    a = min(count, max(0, top - first))  # rows a..b-1 are image rows
    b = max(a, min(count, top + h - first))
    rows[:a] = fill
    rows[b:] = fill
    rows[a:b, :left] = fill
    rows[a:b, left + w :] = fill
    rows[a:b, left : left + w] = x[first + a - top : first + b - top]
    return flat


def _rows(
    x: np.ndarray, geo: Geometry, fill: float, first: int, count: int, name: str
) -> np.ndarray:
    """Padded-input rows first… flat: a view of `x` where they hold no padding, else a
    copy in the work array `name`."""
    (top, _), (left, right) = geo.pads
    start = first - top
    if 0 <= start <= x.shape[0] - count and not (left or right) and x.flags.c_contiguous:
        return x[start : start + count].reshape(-1)
    size = count * (x.shape[1] + left + right) * x.shape[2]
    return _copy_rows(x, geo, fill, first, count, _work(name, size))


def _pick(rows: np.ndarray, step: int, out: np.ndarray) -> None:
    """Columns 0, step, 2·step, … of (n, W, C) rows into out (n, Wo, C)."""
    src = rows[:, : (out.shape[1] - 1) * step + 1 : step]
    if step == 1 or out.shape[2] > 4:
        np.copyto(out, src)
    else:  # a copy whose inner axis is a pixel's few channels crawls; one plane each does not
        for ch in range(out.shape[2]):
            np.copyto(out[:, :, ch], src[:, :, ch])


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _window_rows(
    x: np.ndarray, geo: Geometry, columns: list[int], first: int, count: int, flat: np.ndarray
) -> None:
    """Padded-input rows first… (`count` of them) into `flat`, each row once per kernel
    column j in `columns`: the Wo pixels that column meets, padded column c·sw + j·dw for
    output column c. Padding, and rows past it (a last group may read a few, for outputs
    it drops), are zeros.

    With the copies of a row next to each other, every input value a group of output rows
    needs is one row of a single strided matrix, so one matrix product does all its taps.
    """
    (top, _), (left, _) = geo.pads
    (_, wo), (_, sw), (_, dw) = geo.out_size, geo.stride, geo.dilation
    h, w, c = x.shape
    rows = flat.reshape(count, len(columns), wo, c)
    a = min(count, max(0, top - first))  # rows a..b-1 are image rows
    b = max(a, min(count, top + h - first))
    rows[:a] = 0
    rows[b:] = 0
    image = x[first + a - top : first + b - top]
    for n, j in enumerate(columns):
        shift = j * dw - left  # image column that output column 0 meets
        lo = min(wo, max(0, _ceil_div(-shift, sw)))  # output columns lo..hi-1 meet the image
        hi = max(lo, min(wo, _ceil_div(w - shift, sw)))
        copy = rows[a:b, n]
        copy[:, :lo] = 0
        copy[:, hi:] = 0
        if hi > lo:
            copy[:, lo:hi] = image[:, lo * sw + shift : (hi - 1) * sw + shift + 1 : sw]


def _depthwise(x: np.ndarray, k: np.ndarray, geo: Geometry) -> np.ndarray:
    """The depthwise convolution as one matrix product per group of output rows.

    Output row q of a group is Σ k[i, j] · (input row q·sh + i·dh, seen from kernel
    column j). `_window_rows` lays those rows out as the rows of one matrix, and a
    band matrix holding the kernel (mostly zeros) picks and weighs them: (g, rows·kw)
    @ (rows·kw, Wo·C), batched over the groups, straight into the output. The zeros
    cost a few multiplications but let BLAS do g rows per call (a non-finite input
    value therefore turns its group's column NaN; images are finite).
    """
    (ho, wo), (sh, _), (dh, _) = geo.out_size, geo.stride, geo.dilation
    c = x.shape[2]
    columns = np.flatnonzero(k.any(axis=0)).tolist() or [0]  # all-zero columns add nothing
    g = ROWS_PER_PRODUCT
    span = (g - 1) * sh + geo.span[0]  # input rows that a group of g output rows reads
    band = np.zeros((g, span, len(columns)), dtype=np.float32)
    q = np.arange(g)[:, None]
    band[q, q * sh + np.arange(k.shape[0]) * dh] = k[:, columns]
    band = band.reshape(g, -1)
    row_out = wo * c
    matrix_rows = len(columns) * span  # rows of one group's matrix
    groups = max(1, VALUES_PER_PASS // (g * row_out))
    block = _work("block", ((groups - 1) * g * sh + span) * len(columns) * row_out)
    item = block.itemsize
    # Group n's matrix starts n·g·sh input rows (each len(columns) rows of the block) on.
    matrices = as_strided(block, (groups, matrix_rows, row_out),
                          (g * sh * len(columns) * row_out * item, row_out * item, item))  # fmt: skip
    out = np.empty((ho, wo, c), dtype=np.float32)
    flat_out = out.reshape(-1)
    for r0 in range(0, ho, groups * g):
        n_groups = min(groups, _ceil_div(ho - r0, g))
        n = min(n_groups * g, ho - r0)
        rows_in = (n_groups - 1) * g * sh + span
        _window_rows(x, geo, columns, r0 * sh, rows_in, block[: rows_in * len(columns) * row_out])
        whole = n == n_groups * g  # else the last group runs past the output: drop its extra rows
        dst = flat_out[r0 * row_out :] if whole else _work("acc", n_groups * g * row_out)
        np.matmul(
            band,
            matrices[:n_groups],
            out=dst[: n_groups * g * row_out].reshape(n_groups, g, row_out),
        )
        if not whole:
            flat_out[r0 * row_out : (r0 + n) * row_out] = dst[: n * row_out]
    return out


def _pool(x: np.ndarray, geo: Geometry, combine: np.ufunc, fill: float) -> np.ndarray:
    """Each window's max (combine=np.maximum, fill=−∞) or sum (np.add, 0), one axis at a time.

    Both are separable: each row position combines its window's input rows, whole rows
    at once; then, within those rows, each pixel combines the next kw − 1 pixels. Both
    steps run at every input position, strided or not, because contiguous runs are
    fast and gathering every stride-th row first is not; the output picks its windows.
    """
    (ho, wo), (sh, sw), (kh, kw) = geo.out_size, geo.stride, geo.kernel
    c = x.shape[2]
    wp = x.shape[1] + sum(geo.pads[1])
    row = wp * c
    rows_per_pass = max(1, VALUES_PER_PASS // (sh * row))
    out = np.empty((ho, wo, c), dtype=np.float32)
    for r0 in range(0, ho, rows_per_pass):
        n = min(rows_per_pass, ho - r0)
        tops = (n - 1) * sh + 1  # window tops from output row r0's to output row r0+n-1's
        src = _rows(x, geo, fill, r0 * sh, tops + kh - 1, "block")
        size = tops * row
        acc = src[:size]
        for i in range(1, kh):
            acc = combine(acc, src[i * row : i * row + size], out=_work("acc", size))
        if kw > 1:  # the next pixel is c values on; a row's last pixels wrap, and are dropped
            end = size - (kw - 1) * c
            cols = _work("tmp", size)
            combine(acc[:end], acc[c : c + end], out=cols[:end])
            for j in range(2, kw):
                combine(cols[:end], acc[j * c : j * c + end], out=cols[:end])
            acc = cols
        _pick(acc.reshape(tops, wp, c)[::sh], sw, out[r0 : r0 + n])
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
