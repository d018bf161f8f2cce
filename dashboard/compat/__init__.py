"""Every patch of a Streamlit or TensorFlow private API, each with a test that fails
when upstream changes it: Streamlit's after-run cleanup, its legacy pages flag,
TensorFlow's gradient registry and in-place tensor update."""
