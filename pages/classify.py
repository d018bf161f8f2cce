"""Classify: ask a trained model about new images, and see why it answered."""

import streamlit as st

from dashboard.insight.prediction import predict
from dashboard.ui.classify_view import (
    explanations_ui,
    image_source_ui,
    images_ui,
    missing_model_ui,
    model_details_ui,
    model_picker_ui,
    prediction_ui,
    preprocessing_ui,
    results_table_ui,
    top_k_ui,
)
from dashboard.ui.navigation import start_page

start_page()

st.title("Classify")
st.caption(
    "Use a trained model on your own images: see what the model sees, its top guesses, "
    "and why it answered (Grad-CAM, feature maps, learned filters)."
)

picked = model_picker_ui()
classifier = picked.classifier
if classifier is None:
    missing_model_ui()
    st.stop()
class_names = model_details_ui(picked)

source = image_source_ui(classifier)
preprocessing = preprocessing_ui(picked, source)
k = top_k_ui(classifier)
prepared = images_ui(source, classifier, preprocessing)
if not prepared:
    st.stop()

probs = predict(classifier.model, [item.array for item in prepared])
index = results_table_ui(prepared, probs, class_names)
predicted = prediction_ui(classifier, prepared[index], probs[index], class_names, k)
explanations_ui(classifier, prepared[index], class_names, predicted)
