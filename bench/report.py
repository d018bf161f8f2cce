"""Run every benchmark in bench/ and print one table: figure, value, target, the
baseline it was measured against in the same run, and whether it holds.

Each benchmark prints its figures as `name=value` pairs on its last line; this runs
them one after another (never in parallel: they would share the cores they time) and
reads those lines. A benchmark that fails shows its error in the table.

Run: python bench/report.py [name ...]   (names without .py; default: all)
Prints a Markdown table, then the machine it ran on. Takes about half an hour.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Figure:
    bench: str  # file name without .py
    key: str  # name on the bench's last line
    label: str
    target: str  # e.g. "<= 1.0"
    baseline: str  # what it is measured against, in the same run

    def holds(self, value: float) -> bool:
        op, limit = self.target.split()
        bound = float(limit.rstrip("%"))
        return value <= bound if op == "<=" else value >= bound


FIGURES = (
    Figure("conv_latency", "page_ms", "Convolution page rerun, colour (ms)", "<= 300", "-"),
    Figure("conv_latency", "ratio", "conv2d time / Keras", "<= 1.0", "keras.ops.conv"),
    Figure("conv_latency", "depthwise_ratio", "depthwise time / Keras", "<= 1.0",
           "keras.ops.depthwise_conv"),
    Figure("conv_latency", "pool_ratio", "max pool time / Keras", "<= 1.0", "keras.ops.max_pool"),
    Figure("build_latency", "median_ms", "Build page rerun (ms)", "<= 200", "-"),
    Figure("default_accuracy", "accuracy", "default preset, MNIST test accuracy", ">= 0.985", "-"),
    Figure("default_accuracy", "seconds", "default preset, training seconds", "<= 60", "-"),
    Figure("fast_mnist", "accuracy", "fast_mnist, MNIST test accuracy", ">= 0.993", "-"),
    Figure("fast_mnist", "ratio", "fast_mnist time / article 002 epoch", "<= 0.5",
           "article 002 CNN, 1 epoch of bare model.fit"),
    Figure("photo_preset", "accuracy", "photos32, CIFAR-10 subset accuracy", ">= 0.60", "-"),
    Figure("photo_preset", "cnn_minus_dense", "photos32 minus dense_only (points)", ">= 0.15",
           "dense_only, same settings"),
    Figure("train_throughput", "ratio", "Train page images/s / model.fit", ">= 0.95",
           "bare model.fit, same model and data"),
    Figure("train_throughput", "peak_rss_mb", "server peak RSS while training (MB)", "<= 1000",
           "-"),
    Figure("abuse", "peak_rss_mb", "peak RSS under 11 hostile inputs (MB)", "<= 2048", "-"),
    Figure("workshop", "peak_rss_mb", "peak RSS, 20 sessions (MB)", "<= 2048", "-"),
    Figure("workshop", "leaks", "sessions that saw another's runs", "<= 0", "-"),
)  # fmt: skip


def last_line_figures(output: str) -> dict[str, float]:
    """The `name=value` pairs of a benchmark's last line ('12/12' counts as 12/12 = 1)."""
    lines = [line for line in output.strip().splitlines() if "=" in line]
    pairs = re.findall(r"(\w+)=([-\d./]+)", lines[-1]) if lines else []
    figures = {}
    for key, raw in pairs:
        if "/" in raw:
            done, total = raw.split("/")
            figures[key] = float(done) / float(total)
        else:
            figures[key] = float(raw)
    if {"accuracy", "dense_accuracy"} <= figures.keys():
        figures["cnn_minus_dense"] = figures["accuracy"] - figures["dense_accuracy"]
    return figures


def run_bench(name: str) -> tuple[dict[str, float], str]:
    """(figures, error text) of one benchmark run in a fresh process."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(BENCH / f"{name}.py")], capture_output=True, text=True
    )
    took = time.monotonic() - started
    print(f"{name}: exit {done.returncode} after {took:.0f} s", file=sys.stderr, flush=True)
    if done.returncode != 0:
        return {}, (done.stderr.strip().splitlines() or ["failed"])[-1][:80]
    return last_line_figures(done.stdout), ""


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = os.process_cpu_count() if hasattr(os, "process_cpu_count") else os.cpu_count()
    return f"{model}, {cores} cores available, Python {platform.python_version()}"


def main(names: list[str]) -> None:
    wanted = names or sorted({figure.bench for figure in FIGURES})
    load_before = os.getloadavg()[0]
    results = {name: run_bench(name) for name in wanted}
    print("| figure | value | target | baseline (same run) | holds |")
    print("| --- | --- | --- | --- | --- |")
    for figure in FIGURES:
        if figure.bench not in results:
            continue
        figures, error = results[figure.bench]
        value = figures.get(figure.key)
        if value is None:
            print(f"| {figure.label} | {error or 'not printed'} | {figure.target} | "
                  f"{figure.baseline} | no |")  # fmt: skip
            continue
        holds = "yes" if figure.holds(value) else "no"
        print(f"| {figure.label} | {value:g} | {figure.target} | {figure.baseline} | {holds} |")
    print(f"\nMachine: {machine()}; load average before the run: {load_before:.2f}.")


if __name__ == "__main__":
    main(sys.argv[1:])
