"""CNN Lab entry point: page config and navigation, nothing else."""

import streamlit as st

from dashboard import state, streamlit_cleanup
from dashboard.navigation import PAGES

# Streamlit's after-run cleanup would clear the Keras session and stall training.
streamlit_cleanup.install()
st.set_page_config(page_title="CNN Lab", page_icon="🧠", layout="wide")
# Keep this tab's token in the URL on every page, so a reload finds its runs.
state.session_token()
st.navigation(
    [st.Page(p.path, title=p.title, icon=p.icon, default=i == 0) for i, p in enumerate(PAGES)]
).run()
