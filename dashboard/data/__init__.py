"""Datasets and the limits that guard them: built-ins, downloads, uploads (zips of
class folders, .npz), the image decoder, sample strips, the process's memory budget and
a byte-bounded cache. Imports nothing else of dashboard."""
