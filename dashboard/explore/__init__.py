"""The convolution explorer: NumPy convolution and pooling with any stride, padding
and dilation, the conv -> ReLU -> pool pipeline, its images and the kernel library.
Imports `model` and `data` only; never TensorFlow."""
