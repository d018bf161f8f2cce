"""The kernel library and reading learned kernels."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.explore import conv_ops, kernels


def test_classic_three_by_three_kernels():
    np.testing.assert_array_equal(
        kernels.library_kernel("Sobel x"), [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    )
    np.testing.assert_array_equal(
        kernels.library_kernel("Sobel y"), [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]
    )
    np.testing.assert_array_equal(kernels.library_kernel("Prewitt"), [[-1, 0, 1]] * 3)
    np.testing.assert_array_equal(
        kernels.library_kernel("Laplacian"), [[0, 1, 0], [1, -4, 1], [0, 1, 0]]
    )
    np.testing.assert_array_equal(
        kernels.library_kernel("sharpen"), [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]
    )
    np.testing.assert_array_equal(
        kernels.library_kernel("emboss"), [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]
    )
    np.testing.assert_array_equal(
        kernels.library_kernel("outline"), [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]
    )
    np.testing.assert_allclose(
        kernels.library_kernel("Gaussian"), np.outer([1, 2, 1], [1, 2, 1]) / 16
    )


@pytest.mark.parametrize("name", list(kernels.LIBRARY))
def test_every_size_keeps_what_the_kernel_does(name):
    image = np.random.default_rng(1).random((12, 12)).astype(np.float32)
    flat = np.full((12, 12), 0.7, dtype=np.float32)
    for size in kernels.LIBRARY[name].sizes:
        k = kernels.library_kernel(name, size)
        assert k.shape == (size, size) and k.dtype == np.float32
        out = conv_ops.conv2d(flat, k)[:, :, 0]
        if name in ("identity", "box blur", "Gaussian", "sharpen", "emboss"):
            # These keep a flat image's brightness: weights sum to 1.
            np.testing.assert_allclose(out, 0.7, atol=1e-5)
        else:
            # Edge finders see nothing on a flat image.
            np.testing.assert_allclose(out, 0.0, atol=1e-5)
    if name == "identity":
        np.testing.assert_allclose(
            conv_ops.conv2d(image, kernels.library_kernel(name, 5), padding="same")[:, :, 0], image
        )


def test_sizes_a_kernel_does_not_come_in_are_refused():
    with pytest.raises(ValueError, match="sizes"):
        kernels.library_kernel("Sobel x", 1)


def test_edited_grid_with_an_empty_cell_says_which():
    assert kernels.kernel_from_grid([[1, 2], [3, 4]]).dtype == np.float32
    with pytest.raises(ValueError, match="row 2, column 1 is empty"):
        kernels.kernel_from_grid([[1, 2], [None, 4]])
    with pytest.raises(ValueError, match="must be a number"):
        kernels.kernel_from_grid([[1, "x"], [3, 4]])


def test_first_conv_kernels_of_a_real_model():
    from dashboard.model.keras_model import build_model
    from dashboard.model.spec import LayerSpec, ModelSpec
    from dashboard.training import Run

    spec = ModelSpec(
        (10, 10, 3),
        [LayerSpec("Conv2D", {"filters": 5, "kernel_size": 3, "padding": "same"}),
         LayerSpec("Conv2D", {"filters": 2, "kernel_size": 5}), LayerSpec("Flatten")],
        num_classes=3,
    )  # fmt: skip
    model = build_model(spec, seed=0)
    learned = kernels.first_conv_kernels(model)
    assert learned.layer_name == "L01_conv2d"
    assert learned.kernels.shape == (3, 3, 3, 5) and learned.bias.shape == (5,)
    assert learned.padding == "same" and learned.strides == 1
    np.testing.assert_array_equal(learned.kernels, model.get_layer("L01_conv2d").get_weights()[0])
    runs = [Run("a", spec, "x", ["a", "b", "c"], status="training"),
            Run("b", spec, "x", ["a", "b", "c"], status="done", model=model)]  # fmt: skip
    assert [r.id for r in kernels.runs_with_kernels(runs)] == ["b"]
    dense = ModelSpec((4, 4, 1), [LayerSpec("Flatten")], num_classes=3)
    assert kernels.first_conv_kernels(build_model(dense)) is None
