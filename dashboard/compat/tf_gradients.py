"""Free the gradient functions TensorFlow's registry keeps for every traced train step
(a private registry: tests/unit/test_training.py holds it to TensorFlow's behaviour)."""

from __future__ import annotations

import sys


def release_traced_gradients() -> int:
    """Drop the gradient functions TensorFlow registered while tracing train steps.

    Every traced Keras train step calls the replica context's all_reduce, a
    `tf.custom_gradient`, which in graph mode adds an entry to TensorFlow's global
    gradient registry that is never removed and holds the whole step graph (about
    6 MB for a small CNN). A workshop server would grow by that with every run, even
    after the run's model is gone. The entries are only read while a graph is being
    traced, and the all_reduce entry only by a second derivative through the optimizer
    (never), so dropping them after runs is safe; we still do it only when no run
    trains, in case a custom layer's gradient is being traced. Returns how many went.
    """
    if "tensorflow" not in sys.modules:
        return 0  # nothing was ever traced
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    if not isinstance(registry, dict):
        return 0  # another TensorFlow version: nothing we know how to release
    stale = [name for name in list(registry) if name.startswith("CustomGradient-")]
    for name in stale:
        registry.pop(name, None)
    return len(stale)
