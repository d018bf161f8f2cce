"""conv_ops against Keras' own convolution and pooling, and the geometry helpers."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from dashboard.explore import conv_ops
from dashboard.explore.conv_ops import ConvError

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)
# Shapes chosen so odd and even sizes, non-square inputs and kernels all occur.
SHAPES = [(9, 12, 1), (16, 11, 3), (7, 7, 2)]
CONV_CASES = [
    (stride, padding, dilation, kernel)
    for stride, padding, dilation, kernel in itertools.product(
        [1, 2, (1, 3)], ["valid", "same"], [1, 2], [(3, 3), (2, 4), (1, 1)]
    )
    # TensorFlow refuses stride > 1 together with dilation > 1.
    if dilation == 1 or stride == 1
]


def _keras_conv(x, kernels, stride, padding, dilation):
    out = keras.ops.conv(x[None], kernels, strides=stride, padding=padding, dilation_rate=dilation)
    return np.asarray(out)[0]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("stride", "padding", "dilation", "kernel"), CONV_CASES)
def test_conv2d_matches_keras(shape, stride, padding, dilation, kernel):
    x = RNG.normal(size=shape).astype(np.float32)
    kernels = RNG.normal(size=(*kernel, shape[2], 4)).astype(np.float32)
    geo = conv_ops.geometry(shape[:2], kernel, stride, padding, dilation)
    if not geo.fits:
        with pytest.raises(ConvError, match="does not fit"):
            conv_ops.conv2d(x, kernels, stride, padding, dilation)
        return
    ours = conv_ops.conv2d(x, kernels, stride, padding, dilation)
    theirs = _keras_conv(x, kernels, stride, padding, dilation)
    assert ours.shape == theirs.shape == (*geo.out_size, 4)
    np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize(
    ("stride", "padding", "dilation"), [(1, "same", 1), (2, "valid", 1), (1, "valid", 2)]
)
def test_two_d_kernel_sums_over_channels_and_depthwise_keeps_them(stride, padding, dilation):
    x = RNG.normal(size=(13, 10, 3)).astype(np.float32)
    k = RNG.normal(size=(3, 3)).astype(np.float32)
    summed = conv_ops.conv2d(x, k, stride, padding, dilation)
    tiled = np.repeat(k[:, :, None, None], 3, axis=2)
    np.testing.assert_allclose(summed, _keras_conv(x, tiled, stride, padding, dilation), atol=1e-4)
    per_channel = conv_ops.depthwise_conv2d(x, k, stride, padding, dilation)
    theirs = keras.ops.depthwise_conv(
        x[None], tiled, strides=stride, padding=padding, dilation_rate=dilation
    )
    np.testing.assert_allclose(per_channel, np.asarray(theirs)[0], atol=1e-4)
    assert per_channel.shape[2] == 3 and summed.shape[2] == 1


def test_custom_padding_is_zero_pixels_on_every_side():
    x = RNG.normal(size=(6, 5, 2)).astype(np.float32)
    k = RNG.normal(size=(3, 3, 2, 2)).astype(np.float32)
    ours = conv_ops.conv2d(x, k, stride=(2, 1), padding=2)
    padded = np.pad(x, ((2, 2), (2, 2), (0, 0)))
    np.testing.assert_allclose(ours, _keras_conv(padded, k, (2, 1), "valid", 1), atol=1e-4)
    assert ours.shape[:2] == conv_ops.output_shape((6, 5), 3, (2, 1), 2) == (4, 7)


def test_depthwise_kernel_columns_that_meet_only_padding():
    # 2 zero columns each side of a 4-pixel-wide image, a 7-wide kernel, stride 2: the
    # single output column's first kernel columns meet no image pixel at all.
    x = RNG.normal(size=(3, 4, 3)).astype(np.float32)
    k = RNG.normal(size=(3, 7)).astype(np.float32)
    ours = conv_ops.depthwise_conv2d(x, k, stride=(1, 2), padding=2)
    padded = np.pad(x, ((2, 2), (2, 2), (0, 0)))
    tiled = np.repeat(k[:, :, None, None], 3, axis=2)
    theirs = keras.ops.depthwise_conv(padded[None], tiled, strides=(1, 2), padding="valid")
    np.testing.assert_allclose(ours, np.asarray(theirs)[0], atol=1e-4)


def test_bias_is_added_per_filter():
    x = RNG.normal(size=(5, 5, 1)).astype(np.float32)
    k = RNG.normal(size=(3, 3, 1, 2)).astype(np.float32)
    with_bias = conv_ops.conv2d(x, k, bias=np.array([1.0, -2.0]))
    np.testing.assert_allclose(
        with_bias - conv_ops.conv2d(x, k), np.broadcast_to([1.0, -2.0], with_bias.shape), atol=1e-6
    )


POOL_CASES = list(
    itertools.product(["max", "average"], [2, 3, (2, 3)], [None, 1, 2, (1, 2)], ["valid", "same"])
)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("kind", "size", "stride", "padding"), POOL_CASES)
def test_pooling_matches_keras(shape, kind, size, stride, padding):
    x = RNG.normal(size=shape).astype(np.float32)
    fn = keras.ops.max_pool if kind == "max" else keras.ops.average_pool
    theirs = np.asarray(fn(x[None], size, strides=stride, padding=padding))[0]
    ours = conv_ops.pool2d(x, kind, size, stride, padding)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize(("values", "rows"), [(1, 1), (40, 3), (200, 2)])
def test_passes_and_row_groups_leave_the_result_alone(monkeypatch, values, rows):
    # Tiny passes and odd row groups: every block edge occurs, and last groups run past
    # the output, as they do on photos with the real sizes.
    monkeypatch.setattr(conv_ops, "VALUES_PER_PASS", values)
    monkeypatch.setattr(conv_ops, "ROWS_PER_PRODUCT", rows)
    x = RNG.normal(size=(13, 10, 3)).astype(np.float32)
    k = RNG.normal(size=(3, 3)).astype(np.float32)
    tiled = np.repeat(k[:, :, None, None], 3, axis=2)
    for stride, padding, dilation in [
        (1, "same", 1),
        (2, "valid", 1),
        (1, "same", 2),
        ((2, 3), "same", 1),
    ]:
        theirs = keras.ops.depthwise_conv(
            x[None], tiled, strides=stride, padding=padding, dilation_rate=dilation
        )
        ours = conv_ops.depthwise_conv2d(x, k, stride, padding, dilation)
        np.testing.assert_allclose(ours, np.asarray(theirs)[0], atol=1e-4)
    for size, stride, padding in [(2, None, "valid"), (3, 1, "same"), ((2, 3), (1, 2), "same")]:
        for kind, fn in (("max", keras.ops.max_pool), ("average", keras.ops.average_pool)):
            theirs = np.asarray(fn(x[None], size, strides=stride, padding=padding))[0]
            ours = conv_ops.pool2d(x, kind, size, stride, padding)
            np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=1e-4)


def test_threads_do_not_share_work_arrays(monkeypatch):
    # The Streamlit server runs sessions in threads, and conv_ops reuses work arrays:
    # each thread must get its own, and every result must be a new array.
    monkeypatch.setattr(conv_ops, "VALUES_PER_PASS", 2_000)  # many passes, to interleave
    images = [RNG.normal(size=(90 + 7 * i, 80, 3)).astype(np.float32) for i in range(4)]
    k = RNG.normal(size=(3, 3)).astype(np.float32)

    def both(x):
        return conv_ops.depthwise_conv2d(x, k, 1, "same"), conv_ops.max_pool(x, 2, 1, "same")

    expected = [both(x) for x in images]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(5):
            for got, want in zip(pool.map(both, images), expected, strict=True):
                for ours, alone in zip(got, want, strict=True):
                    np.testing.assert_array_equal(ours, alone)
                    assert not np.shares_memory(ours, alone)


def test_average_pool_same_leaves_padding_out_of_the_mean():
    x = np.ones((3, 3, 1), dtype=np.float32)
    # A 2×2 pool with stride 2 and 'same' pads one row and column at the bottom/right:
    # the corner window holds one real pixel, and its mean is 1, not 1/4.
    out = conv_ops.average_pool(x, 2, 2, "same")
    np.testing.assert_array_equal(out[:, :, 0], np.ones((2, 2)))


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "dilation"),
    [
        (s, k, st, p, d)
        for s, k, st, p, d in itertools.product(
            [5, 8, 13], [1, 2, 3, 5], [1, 2, 3], ["valid", "same"], [1, 2]
        )
        if st == 1 or d == 1
    ],
)
def test_output_shape_matches_keras_layers(size, kernel, stride, padding, dilation):
    expected_h = conv_ops.output_shape((size, size + 1), kernel, stride, padding, dilation)
    if min(expected_h) <= 0:
        with pytest.raises(ValueError):
            keras.layers.Conv2D(
                1, kernel, stride, padding, dilation_rate=dilation
            ).compute_output_shape((1, size, size + 1, 1))
        return
    layer = keras.layers.Conv2D(1, kernel, stride, padding, dilation_rate=dilation)
    assert tuple(layer.compute_output_shape((1, size, size + 1, 1))[1:3]) == expected_h
    pool = keras.layers.MaxPooling2D(kernel, stride, padding)
    got = pool.compute_output_shape((1, size, size + 1, 1))[1:3]
    assert tuple(got) == conv_ops.output_shape((size, size + 1), kernel, stride, padding)


def test_same_padding_puts_the_odd_pixel_bottom_right():
    geo = conv_ops.geometry((6, 6), 2, 1, "same")
    assert geo.pads == ((0, 1), (0, 1))
    geo = conv_ops.geometry((7, 7), 4, 1, "same")
    assert geo.pads == ((1, 2), (1, 2))


def test_input_window_follows_stride_and_dilation():
    geo = conv_ops.geometry((10, 10), 3, (2, 3), 1, 1)
    rows, cols = conv_ops.input_window(geo, 2, 1)
    assert rows.tolist() == [4, 5, 6] and cols.tolist() == [3, 4, 5]
    geo = conv_ops.geometry((10, 10), 3, 1, "valid", 2)
    rows, cols = conv_ops.input_window(geo, 1, 0)
    assert rows.tolist() == [1, 3, 5] and cols.tolist() == [0, 2, 4]
    with pytest.raises(ConvError, match="outside"):
        conv_ops.input_window(geo, 6, 0)


def test_conv_step_sums_the_window_products_to_the_output_cell():
    x = RNG.normal(size=(8, 9)).astype(np.float32)
    k = RNG.normal(size=(3, 3)).astype(np.float32)
    for index in (0, 7, 20):
        step = conv_ops.conv_step(x, k, index, stride=2, padding="same")
        assert step.geometry.out_size == (4, 5)
        assert step.output[step.row, step.col] == pytest.approx(step.total, abs=1e-5)
        np.testing.assert_allclose(step.products, step.window * k)
    # 'same' with stride 2: 8 rows need 1 pad pixel (all at the bottom), 9 columns need 2
    # (one each side), so the first window starts at the top row and one zero column.
    first = conv_ops.conv_step(x, k, 0, stride=2, padding="same")
    assert first.geometry.pads == ((0, 1), (1, 1))
    np.testing.assert_allclose(first.window[:, 1:], x[:3, :2])
    np.testing.assert_array_equal(first.window[:, 0], 0)


def test_settings_that_do_not_fit_say_what_to_change():
    x = np.zeros((4, 6, 1), dtype=np.float32)
    with pytest.raises(ConvError) as info:
        conv_ops.conv2d(x, np.ones((3, 3)), dilation=2)
    message = str(info.value)
    assert "3×3 kernel (spanning 5 pixels with dilation 2) does not fit the 4×6 input" in message
    assert "= 0" in message and "'same' padding" in message
    with pytest.raises(ConvError, match="pool window does not fit"):
        conv_ops.max_pool(x, 5)
    with pytest.raises(ConvError, match="channel"):
        conv_ops.conv2d(x, np.ones((3, 3, 2, 1)))
