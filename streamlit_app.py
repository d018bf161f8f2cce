"""CNN Lab entry point: page config and navigation, nothing else.

Each page starts with dashboard.navigation.start_page(), which installs the
training-safe cleanup and keeps the session token in the URL.
"""

import streamlit as st

from dashboard.navigation import PAGES

st.set_page_config(page_title="CNN Lab", page_icon="🧠", layout="wide")
st.navigation(
    [st.Page(p.path, title=p.title, icon=p.icon, default=i == 0) for i, p in enumerate(PAGES)]
).run()
