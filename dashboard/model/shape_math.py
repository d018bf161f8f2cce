"""The shape arithmetic CNN Lab teaches: output size, padding, and the formula with
its numbers, as Keras and TensorFlow compute them (doctests run in the test command).
"""

from __future__ import annotations


def output_size(
    size: int, kernel: int, stride: int = 1, padding: str | int = "valid", dilation: int = 1
) -> int:
    """Output length along one axis, as Keras computes it: the formula the app teaches,
    ⌊(W + 2P − D·(K−1) − 1)/S⌋ + 1.

    Args:
        size: the input's length W along this axis.
        kernel: the kernel's (or pooling window's) length K.
        stride: the step S between windows.
        padding: 'valid' (none), 'same' (output ceil(W / S)), or P zero pixels a side.
        dilation: D, the gap between the kernel's taps (1: none).

    Returns:
        The output's length; 0 or less when the kernel does not fit.

    Example:
        >>> output_size(28, 3)  # a 3×3 kernel on 28 pixels, no padding
        26
        >>> output_size(28, 3, stride=2, padding="same")
        14
        >>> output_size(28, 3, padding=1, dilation=2)  # taps 2 apart span 5 pixels
        26
        >>> output_size(2, 5)  # too small: nothing fits
        -2
    """
    return (
        size + total_padding(size, kernel, stride, padding, dilation) - dilation * (kernel - 1) - 1
    ) // stride + 1


def total_padding(
    size: int, kernel: int, stride: int = 1, padding: str | int = "valid", dilation: int = 1
) -> int:
    """Zero pixels added along one axis in all (both sides together)."""
    if padding == "valid":
        return 0
    if padding == "same":
        # Keras/TensorFlow 'same': output is ceil(size / stride), padding fills the gap.
        out = -(-size // stride)
        return max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return 2 * int(padding)


def padding_split(
    size: int, kernel: int, stride: int = 1, padding: str | int = "valid", dilation: int = 1
) -> tuple[int, int]:
    """Zero pixels added (before, after) along one axis.

    Args:
        size, kernel, stride, padding, dilation: as for `output_size`.

    Returns:
        (before, after): for 'same' an odd total puts the extra pixel after
        (bottom/right), as TensorFlow does.

    Example:
        >>> padding_split(28, 3, padding="same")
        (1, 1)
        >>> padding_split(28, 2, stride=2, padding="same")  # even kernel: nothing to add
        (0, 0)
        >>> padding_split(5, 4, padding="same")  # 3 pixels: one before, two after
        (1, 2)
    """
    total = total_padding(size, kernel, stride, padding, dilation)
    return total // 2, total - total // 2


def formula_text(
    size: int, kernel: int, stride: int = 1, padding: str | int = "valid", dilation: int = 1
) -> str:
    """The output-size formula with the numbers filled in.

    ⌊(W + 2P − D·(K−1) − 1)/S⌋ + 1, where 2P is the total padding of both sides.
    """
    pad = total_padding(size, kernel, stride, padding, dilation)
    out = output_size(size, kernel, stride, padding, dilation)
    return f"⌊({size} + {pad} − {dilation}·({kernel}−1) − 1)/{stride}⌋ + 1 = {out}"


FORMULA = "⌊(W + 2P − D·(K−1) − 1)/S⌋ + 1"
