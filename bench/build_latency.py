"""Build page latency: a full AppTest rerun of the build page with a 20-layer spec.

Prints each run's time, then `median_ms=<number>` as the last line (target < 200 ms).
Run: python bench/build_latency.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from dashboard.model.spec import LayerSpec, ModelSpec  # noqa: E402

RUNS = 20


def twenty_layer_spec() -> ModelSpec:
    layers = []
    for filters in (16, 32, 64, 64):
        layers += [
            LayerSpec("Conv2D", {"filters": filters, "padding": "same"}),
            LayerSpec("BatchNormalization"),
            LayerSpec("Conv2D", {"filters": filters, "padding": "same"}),
            LayerSpec("MaxPooling2D"),
        ]
    layers += [LayerSpec("Flatten"), LayerSpec("Dense", {"units": 256}), LayerSpec("Dropout")]
    layers += [LayerSpec("Dense", {"units": 128})]
    assert len(layers) == 20
    return ModelSpec((64, 64, 3), layers, 10, name="bench20")


def main() -> None:
    at = AppTest.from_file(str(ROOT / "pages" / "build.py"), default_timeout=60)
    at.session_state["spec"] = twenty_layer_spec()
    at.run()  # warm-up: imports and first render
    assert not at.exception, at.exception
    assert len(at.dataframe[0].value) == 22
    times = []
    for i in range(RUNS):
        # Each rerun edits a setting, as a user does, so nothing is served from a cache.
        at.sidebar.number_input(key="L0_0_filters").set_value(16 + i % 2)
        start = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - start) * 1000)
        assert not at.exception
    print("runs_ms=" + ",".join(f"{t:.0f}" for t in times))
    print(f"median_ms={statistics.median(times):.1f}")


if __name__ == "__main__":
    main()
