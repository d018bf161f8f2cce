"""The kernel library and reading learned kernels."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.explore import conv_ops, conv_pipeline, kernels
from dashboard.explore.conv_pipeline import ConvSettings, KernelChoice


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


def test_every_library_kernel_starts_at_its_classic_size():
    assert {entry.default_size for entry in kernels.LIBRARY.values()} == {3}
    wide = kernels.LibraryKernel("wide", kernels._box, (5, 7), "A 5×5 or 7×7 blur.")
    assert wide.default_size == 5


def test_kernel_table_shows_the_cells_numbered_from_one():
    table = kernels.kernel_table(kernels.library_kernel("Sobel x"))
    assert list(table.columns) == ["1", "2", "3"]
    assert table.to_numpy().tolist() == [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    np.testing.assert_array_equal(
        kernels.kernel_from_grid(table.to_numpy()), kernels.library_kernel("Sobel x")
    )


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


def learned_bank() -> kernels.LearnedKernels:
    """A first Conv2D layer of 5 random 3×3 filters over RGB, biases 0..4."""
    bank = np.random.default_rng(3).normal(size=(3, 3, 3, 5)).astype(np.float32)
    return kernels.LearnedKernels("L01_conv2d", bank, np.arange(5, dtype=np.float32), 1, "valid", 1)


def test_a_learned_filter_gives_what_its_conv2d_layer_gives():
    learned = learned_bank()
    kernel = conv_pipeline.learned_kernel(learned, 2)
    assert kernel.weights.shape == (3, 3, 3, 1) and kernel.bias.tolist() == [2.0]
    assert conv_pipeline.learned_kernel(learned, 2, add_bias=False).bias is None
    # The page's "Convolution output" for filter 2: the sum over channels, plus its bias.
    x = np.random.default_rng(4).random((6, 6, 3)).astype(np.float32)
    out = conv_pipeline.run(x, kernel, ConvSettings(relu=False, pool="none")).conv
    assert out.shape == (4, 4, 1)
    expected = [
        [(x[i : i + 3, j : j + 3] * learned.kernels[:, :, :, 2]).sum() + 2 for j in range(4)]
        for i in range(4)
    ]
    np.testing.assert_allclose(out[:, :, 0], expected, rtol=1e-5)


def test_channel_kernels_are_what_the_page_draws_for_each_channel():
    learned = learned_bank()
    shown = conv_pipeline.channel_kernels(conv_pipeline.learned_kernel(learned, 4), 3)
    assert len(shown) == 3
    for c in range(3):
        np.testing.assert_array_equal(shown[c], learned.kernels[:, :, c, 4])
    sobel = kernels.library_kernel("Sobel x")
    same = conv_pipeline.channel_kernels(KernelChoice(sobel, per_channel=True), 3)
    assert len(same) == 3 and all(k is sobel for k in same)
    assert conv_pipeline.channel_kernels(KernelChoice(sobel), 1) == [sobel]
