"""Copy a NumPy array into one TensorFlow tensor without a second resident copy.

Relies on TensorFlow updating a tensor in place when `tf.raw_ops.InplaceUpdate` holds
its only reference (tests/unit/test_training.py::test_host_tensor_keeps_one_copy_of_the_images
is its tripwire)."""

from __future__ import annotations

from typing import Any

import numpy as np

HOST_TENSOR_CHUNK_BYTES = 4 << 20


def host_tensor(array: np.ndarray) -> Any:
    """A TensorFlow tensor with a copy of `array`, for the input pipeline.

    tf.constant keeps twice the array's size resident (89 MB for MNIST's 47 MB of
    uint8 images, measured with TF 2.21); filling an uninitialized tensor in place,
    a few MB at a time, keeps one copy (45 MB, peak 49 MB).
    """
    import tensorflow as tf

    array = np.ascontiguousarray(array)
    rows = max(1, HOST_TENSOR_CHUNK_BYTES // max(1, array[0].nbytes if len(array) else 1))
    tensor = tf.raw_ops.Empty(shape=array.shape, dtype=tf.as_dtype(array.dtype), init=False)
    for start in range(0, len(array), rows):
        stop = min(start + rows, len(array))
        # The only reference to `tensor` is replaced, so TensorFlow updates its buffer in place.
        tensor = tf.raw_ops.InplaceUpdate(x=tensor, i=tf.range(start, stop), v=array[start:stop])
    return tensor
