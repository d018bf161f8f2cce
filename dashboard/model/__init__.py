"""A CNN as plain data and everything known about it without TensorFlow: the spec,
shape and cost analysis, share links, presets; plus the Keras build, the code export
and what a saved .keras file declares. Imports nothing else of dashboard but `data.limits`."""
