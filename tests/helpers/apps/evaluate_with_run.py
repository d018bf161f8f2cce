"""Test harness: the Evaluate page in a session that already has two trained runs.

The Train page is built elsewhere, so a browser test cannot train through the UI
yet; this script trains a small real CNN and a dense-only baseline on digits once per
session, then runs
the real page script.
"""

import runpy
from dataclasses import replace
from pathlib import Path

import streamlit as st

from dashboard.data.builtins import load_builtin
from dashboard.data.preprocess import to_model_input
from dashboard.model.presets import load_preset
from dashboard.training import Run
from dashboard.ui import state

ROOT = Path(__file__).resolve().parents[3]

if not state.get_runs():
    from dashboard.model.keras_model import build_model

    with st.spinner("Training two small models for the test…"):
        dataset = load_builtin("digits")
        # The dense-only baseline first, so the CNN is the newest run and the page's first choice.
        for run_id, preset in (("dense1", "dense_only"), ("browser1", "default")):
            spec = replace(load_preset(preset), input_shape=dataset.input_shape)
            model = build_model(spec, seed=0)
            model.compile(optimizer="adam", loss=spec.loss_name(), metrics=["accuracy"])
            model.fit(to_model_input(dataset.x_train), dataset.y_train, epochs=3, verbose=0)
            settings = {"epochs": 3, "seed": 0}
            state.add_run(Run(run_id, spec, "digits", dataset.class_names, settings, "done", model))

runpy.run_path(str(ROOT / "pages" / "evaluate.py"), run_name="__main__")
