"""Home: what the app teaches, and a link to each page."""

import streamlit as st

from dashboard.ui.navigation import PAGES, start_page

start_page()

st.title("CNN Lab")
st.markdown(
    "Learn convolutional neural networks by doing. Build a CNN layer by layer and see "
    "how each convolution, pooling and dense layer changes the shape of the data, "
    "how many parameters it adds and what it costs. Train it on real images and watch "
    "it learn, see what a kernel does to a picture with any stride, padding and "
    "dilation, and ask the trained model about your own images, and why it answered."
)
st.latex(r"\text{out} = \left\lfloor \frac{W + 2P - D\,(K-1) - 1}{S} \right\rfloor + 1")
st.caption(
    "W: input size, K: kernel size, P: padding per side, D: dilation, S: stride. "
    "Every page that changes a shape shows this formula with your numbers."
)

st.subheader("Where to go")
for page in PAGES[1:]:
    st.page_link(page.path, label=f"**{page.title}**: {page.blurb}", icon=page.icon)
