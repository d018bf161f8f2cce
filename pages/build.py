"""Build: placeholder until the builder lands."""

import streamlit as st

st.title("Build")
