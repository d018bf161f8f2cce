"""Convolution page latency, and conv_ops against Keras on the same 512×512 RGB image.

Setting: scikit-image's astronaut (512×512×3), a 3×3 kernel, stride 1, 'same' padding,
ReLU and a 2×2 max pool.

- page_ms: median time of a full AppTest rerun of pages/convolution.py in colour
  ("RGB, each channel on its own"); each rerun switches the kernel between Sobel x and
  Sobel y, so every rerun computes everything again. Target ≤ 300 ms.
- ratio: median time of conv_ops.conv2d over keras.ops.conv, same image and 3×3×3×1
  kernel (one Conv2D filter over the three channels). Target ≤ 1.0.
- depthwise_ratio: conv_ops.depthwise_conv2d over keras.ops.depthwise_conv, the same
  random 3×3 kernel on each channel (the page's colour mode). Target ≤ 1.0.
- pool_ratio: conv_ops.max_pool over keras.ops.max_pool, 2×2 stride 2, on the colour
  image. Target ≤ 1.0.

The page is timed first, before Keras is imported, as a user's page never imports it.
The last line is `page_ms=<n> ratio=<n> depthwise_ratio=<n> pool_ratio=<n>`.
Run: python bench/conv_latency.py
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from dashboard.explore import conv_images, conv_ops  # noqa: E402

RUNS = 20


def page_times() -> list[float]:
    at = AppTest.from_file(str(ROOT / "pages" / "convolution.py"), default_timeout=60)
    at.run()
    at.radio(key="conv_color").set_value("RGB, each channel on its own")
    at.radio(key="conv_padding").set_value("same")
    at.run()  # warm-up: imports, sample decoding, first render
    assert not at.exception, at.exception
    shapes = [m.value for m in at.markdown if "`512×512×3`" in m.value]
    assert len(shapes) == 3, "expected input, conv and ReLU at 512×512×3"
    times = []
    for i in range(RUNS):
        at.selectbox(key="conv_kernel").set_value("Sobel y" if i % 2 == 0 else "Sobel x")
        start = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - start) * 1000)
        assert not at.exception
    return times


def median_ms(fn: Callable[[], object], runs: int = RUNS) -> float:
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    times = page_times()
    page_ms = statistics.median(times)
    print("page_runs_ms=" + ",".join(f"{t:.0f}" for t in times))

    import keras

    image = conv_images.to_float(conv_images.load_sample("astronaut"), 3)
    kernel = np.random.default_rng(0).normal(size=(3, 3, 3, 1)).astype(np.float32)
    batch = image[None]
    ours = conv_ops.conv2d(image, kernel, 1, "same")
    theirs = np.asarray(keras.ops.conv(batch, kernel, padding="same"))[0]
    assert np.allclose(ours, theirs, atol=1e-4), "conv_ops and Keras disagree"
    ours_ms = median_ms(lambda: conv_ops.conv2d(image, kernel, 1, "same"))
    keras_ms = median_ms(lambda: np.asarray(keras.ops.conv(batch, kernel, padding="same")))
    print(f"conv2d_ms={ours_ms:.1f} keras_conv_ms={keras_ms:.1f}")
    # What the page computes in colour mode, for reference.
    k2 = kernel[:, :, 0, 0]
    dw_ms = median_ms(lambda: conv_ops.depthwise_conv2d(image, k2, 1, "same"))
    tiled = np.repeat(k2[:, :, None, None], 3, axis=2)
    keras_dw_ms = median_ms(
        lambda: np.asarray(keras.ops.depthwise_conv(batch, tiled, padding="same"))
    )
    ours_dw = conv_ops.depthwise_conv2d(image, k2, 1, "same")
    theirs_dw = np.asarray(keras.ops.depthwise_conv(batch, tiled, padding="same"))[0]
    assert np.allclose(ours_dw, theirs_dw, atol=1e-4), "depthwise: conv_ops and Keras disagree"
    pool_ms = median_ms(lambda: conv_ops.max_pool(image, 2, 2))
    keras_pool_ms = median_ms(lambda: np.asarray(keras.ops.max_pool(batch, 2, 2)))
    print(f"depthwise_ms={dw_ms:.1f} keras_depthwise_ms={keras_dw_ms:.1f}")
    print(f"max_pool_ms={pool_ms:.1f} keras_max_pool_ms={keras_pool_ms:.1f}")
    print(
        f"page_ms={page_ms:.1f} ratio={ours_ms / keras_ms:.2f} "
        f"depthwise_ratio={dw_ms / keras_dw_ms:.2f} pool_ratio={pool_ms / keras_pool_ms:.2f}"
    )


if __name__ == "__main__":
    main()
