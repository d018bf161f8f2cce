"""The Build page in AppTest: what a user sees when adding, breaking and loading models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import reload_tab
from streamlit.testing.v1 import AppTest

from dashboard.model.presets import load_preset, preset_names
from dashboard.model.share_links import spec_to_link_param

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "build.py")


def open_page(**query) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def table(at: AppTest):
    return at.dataframe[0].value


def add_layer(at: AppTest, kind: str) -> AppTest:
    at.sidebar.selectbox(key="new_layer_type").set_value(kind)
    next(b for b in at.sidebar.button if b.label == "Add layer").click()
    return at.run()


def test_opens_with_default_model_and_totals():
    at = open_page()
    assert not at.exception
    rows = table(at)
    assert list(rows["Layer"])[-1] == "Dense (output)"
    assert list(rows["Output shape"])[:2] == ["28×28×1", "28×28×16"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Trainable parameters"] == f"{load_preset('default').analyze().total_params:,}"
    assert "Multiply-adds / image" in metrics and "Model size" in metrics
    assert len(at.get("plotly_chart")) == 1


def test_add_conv_layer_changes_table():
    at = open_page()
    before = len(table(at))
    # Insert the conv before Flatten so it fits: add it, then move it up one place.
    at = add_layer(at, "Conv2D")
    rows = table(at)
    assert len(rows) == before + 1
    assert "does not fit" in list(rows["Status"])  # a Conv2D after Flatten
    # The new layer is open in the editor; move it up above Flatten.
    next(b for b in at.sidebar.button if b.key and b.key.startswith("up")).click()
    at.run()
    rows = table(at)
    assert "does not fit" not in list(rows["Status"])
    assert list(rows["Layer"])[5] == "Conv2D"
    assert list(rows["Output shape"])[5] == "5×5×32"
    assert not at.error


def test_duplicate_and_delete_follow_the_selected_layer():
    at = open_page()
    at.sidebar.radio(key="layer_pick0").set_value(2)  # the second Conv2D
    at.run()
    next(b for b in at.sidebar.button if b.key and b.key.startswith("copy")).click()
    at.run()
    assert list(table(at)["Layer"])[1:6] == [
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "Conv2D",
        "MaxPooling2D",
    ]
    next(b for b in at.sidebar.button if b.key and b.key.startswith("delete")).click()
    at.run()
    assert list(table(at)["Layer"])[1:5] == ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D"]


def test_a_reload_keeps_the_model_being_built():
    at = open_page()
    at = add_layer(at, "Conv2D")
    edited = list(table(at)["Layer"])
    reloaded = reload_tab(at, PAGE, timeout=30)
    assert not reloaded.exception
    assert list(table(reloaded)["Layer"]) == edited


def test_impossible_layer_shows_message_with_formula():
    at = open_page()
    # Make the first conv's kernel 7 with valid padding on a 4×4 input.
    at.sidebar.number_input(key="in_h0").set_value(4)
    at.sidebar.number_input(key="in_w0").set_value(4)
    at.sidebar.number_input(key="L0_0_kernel_size").set_value(7)
    at.run()
    at.sidebar.selectbox(key="L0_0_padding").set_value("valid")
    at.run()
    errors = [e.value for e in at.error]
    assert any("7×7 kernel does not fit its 4×4 input" in e for e in errors), errors
    assert any("⌊(4 + 0 − 1·(7−1) − 1)/1⌋ + 1 = -2" in e for e in errors)
    assert any("⌊(W + 2P − D·(K−1) − 1)/S⌋ + 1" in md.value for md in at.markdown)
    # The rest of the model is still there.
    assert len(table(at)) == 7


@pytest.mark.parametrize("name", preset_names())
def test_load_each_preset(name):
    at = open_page()
    at.sidebar.selectbox(key="preset_choice").set_value(name)
    next(b for b in at.sidebar.button if b.label == "Load preset").click()
    at.run()
    assert not at.exception
    errors = [e.value for e in at.error]
    if name == "cats_vs_dogs":
        # 19 M parameters at 150×150: at the page's batch size of 64 it would not fit
        # one run's share of the server, and the page says so before Start does.
        assert len(errors) == 1 and "at batch size 64 needs about" in errors[0]
        assert "use a smaller batch size" in errors[0]
    else:
        assert not errors
    spec = load_preset(name)
    rows = table(at)
    assert len(rows) == len(spec.layers) + 2  # input row + layers + output
    assert f"Loaded preset **{name}**." in [s.value for s in at.success]
    expected = spec.analyze().trainable_params
    assert at.metric[0].value == f"{expected:,}"


def test_share_link_opens_model_and_bad_link_keeps_current():
    at = open_page(spec=spec_to_link_param(load_preset("lenet5")))
    assert "Opened the model from the shared link." in [s.value for s in at.success]
    assert list(table(at)["Settings"])[1].startswith("6 × 5×5")
    bad = open_page(spec="eJwrSS0qBgAEhgF")
    assert any("could not be read" in e.value for e in bad.error)
    assert len(table(bad)) == 7  # still the default model


def test_share_link_in_page_carries_spec_only():
    at = open_page()
    link = at.code[0].value
    assert "?spec=" in link
    param = link.split("?spec=")[1]
    assert "&" not in param  # no session token or anything else rides along


def test_page_never_imports_tensorflow():
    code = (
        "import sys; from streamlit.testing.v1 import AppTest;"
        f"at = AppTest.from_file({PAGE!r}, default_timeout=30).run();"
        "assert not at.exception;"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(PAGE).parents[1],
    ).stdout
    assert out.strip().splitlines()[-1] == "False False"


def test_upload_spec_json_and_bad_uploads_keep_model():
    at = open_page()
    uploader = at.file_uploader(key="spec_upload")
    uploader.set_value(("lenet.json", load_preset("lenet5").to_json().encode(), "application/json"))
    at.run()
    assert "Opened lenet.json." in [s.value for s in at.success]
    assert len(table(at)) == len(load_preset("lenet5").layers) + 2
    for content, message in [
        (b"{broken", "not valid JSON"),
        (b'{"schema_version": 99, "input_shape": [28,28,1], "layers": []}', "newer than this app"),
        (b'{"input_shape": [28,28,1], "layers": [{"type": "Transformer"}]}', "Unknown layer type"),
    ]:
        at.file_uploader(key="spec_upload").set_value(("bad.json", content, "application/json"))
        at.run()
        errors = [e.value for e in at.error]
        assert any(message in e and "Your current model is unchanged." in e for e in errors)
        assert len(table(at)) == len(load_preset("lenet5").layers) + 2  # LeNet kept


def test_a_presets_description_goes_once_its_layers_are_edited():
    at = open_page()
    described = load_preset("default").description
    assert described in [c.value for c in at.caption]
    next(b for b in at.sidebar.button if b.key and b.key.startswith("delete")).click()
    at.run()
    assert not at.exception
    assert described not in [c.value for c in at.caption]
    # The spec the page exports (Download spec) says nothing of the preset any more.
    assert json.loads(at.session_state["spec"].to_json())["description"] == ""


def test_a_model_typed_for_other_data_than_the_chosen_dataset_says_so():
    from dashboard.data.builtins import load_digits

    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state["dataset"] = load_digits(8)
    at.run()
    at.sidebar.toggle[0].set_value(False).run()  # type the shape instead
    assert not [c for c in at.sidebar.caption if "will fit this model" in c.value]  # same
    at.sidebar.number_input(key="in_h0").set_value(28).run()
    at.sidebar.number_input(key="in_w0").set_value(28).run()
    said = [c.value for c in at.sidebar.caption if "will fit this model to them" in c.value]
    assert said == [
        "The Data page's 'digits' has 8×8×1 images in 10 classes: the Train page will fit "
        "this model to them."
    ]
