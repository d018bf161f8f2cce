"""The Data page through Streamlit's AppTest: pick each dataset, upload zips, see the preview."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import reload_tab, shown_image_captions
from PIL import Image
from streamlit.testing.v1 import AppTest

from dashboard.data.datasets import CIFAR10_NAMES
from dashboard.ui.navigation import PAGES

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "data.py")


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def make_zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def cifar_zip(cifar_path) -> bytes:
    """Real CIFAR-10 images of three classes, 8 each, as folders in a zip."""
    with np.load(cifar_path) as npz:
        x, y = npz["x_train"], npz["y_train"]
    entries = {}
    for c in (3, 5, 7):  # cat, dog, horse
        for i in np.flatnonzero(y == c)[:8]:
            entries[f"pets/{CIFAR10_NAMES[c]}/{i}.png"] = png(x[i])
    return make_zip(entries)


def start() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def widget(elements, label: str):
    return next(e for e in elements if e.label == label)


def pick(at: AppTest, key: str) -> AppTest:
    widget(at.selectbox, "Dataset").set_value(key).run()
    at.button(key="use_dataset").click().run()
    assert not at.exception
    return at


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader[0].set_value((name, data, "application/zip")).run()
    at.button(key="use_upload").click().run()
    assert not at.exception
    return at


def shown(at: AppTest) -> dict:
    """What a user reads in the preview."""
    return {
        "header": at.header[0].value,
        "metrics": [m.value for m in at.metric],
        "samples": sorted(c for group in shown_image_captions(at) for c in group),  # two columns
        "errors": [e.value for e in at.error],
    }


def test_data_page_is_in_the_navigation_after_home():
    assert [p.path for p in PAGES][:2] == ["pages/home.py", "pages/data.py"]


def test_first_visit_previews_the_offline_default():
    view = shown(start())
    assert view["header"] == "Current dataset: digits28"
    assert view["metrics"] == ["1,437", "360", "28 × 28 × 1", "10"]
    assert view["samples"][:2] == ["0: 136 train, 42 test", "1: 154 train, 28 test"]
    assert len(view["samples"]) == 10


def test_preview_has_a_bar_chart_of_counts_per_class():
    at = pick(start(), "shapes")
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [bar["name"] for bar in spec["data"]] == ["train", "test"]
    assert spec["data"][0]["x"] == ["circle", "square", "triangle", "star", "cross"]
    assert spec["data"][0]["y"] == [320] * 5 and spec["data"][1]["y"] == [80] * 5


@pytest.mark.parametrize(
    ("key", "header", "metrics", "first_sample"),
    [
        ("digits", "digits", ["1,437", "360", "8 × 8 × 1", "10"], "0: 136 train, 42 test"),
        ("digits28", "digits28", ["1,437", "360", "28 × 28 × 1", "10"], "0: 136 train, 42 test"),
        ("shapes", "shapes32", ["1,600", "400", "32 × 32 × 3", "5"], "circle: 320 train, 80 test"),
        ("mnist", "mnist", ["60,000", "5,000", "28 × 28 × 1", "10"], "0: 5,923 train, 460 test"),
        (
            "cifar10",
            "cifar10",
            ["4,000", "1,000", "32 × 32 × 3", "10"],
            "airplane: 396 train, 103 test",
        ),
    ],
)
def test_each_dataset_shows_its_preview(key, header, metrics, first_sample, request):
    shared_file = {"mnist": "mnist_path", "cifar10": "cifar_path"}.get(key)
    if shared_file:  # read from ../shared/data through CNNLAB_DATA_DIR; skips if missing
        request.getfixturevalue(shared_file)
    at = pick(start(), key)
    view = shown(at)
    assert view["errors"] == []
    assert view["header"] == f"Current dataset: {header}"
    assert view["metrics"] == metrics
    assert view["samples"][0].startswith(first_sample)
    assert at.caption[-1].value  # where the data came from, in words
    assert any(c.value.startswith("Source: ") for c in at.caption)


def test_shapes_options_are_used():
    at = start()
    widget(at.selectbox, "Dataset").set_value("shapes").run()
    widget(at.selectbox, "Image size").set_value(16)
    widget(at.number_input, "Images").set_value(100)
    widget(at.number_input, "Seed").set_value(4).run()
    assert at.button(key="use_dataset").label == "Generate Shapes"
    at.button(key="use_dataset").click().run()
    view = shown(at)
    assert view["metrics"] == ["80", "20", "16 × 16 × 3", "5"]
    assert any("seed 4" in c.value for c in at.caption)


def test_upload_a_zip_through_the_file_uploader_and_see_its_classes(cifar_zip):
    at = upload(start(), "pets.zip", cifar_zip)
    assert at.success[0].value == "Loaded 'pets.zip': 3 classes, 24 images."
    view = shown(at)
    assert view["header"] == "Current dataset: pets"
    assert view["metrics"] == ["18", "6", "32 × 32 × 3", "3"]
    assert view["samples"] == [
        "cat: 6 train, 2 test",
        "dog: 6 train, 2 test",
        "horse: 6 train, 2 test",
    ]
    # The upload stays selectable in this session, next to the built-ins.
    assert "Your upload: pets" in widget(at.selectbox, "Dataset").options
    pick(at, "digits")
    assert shown(at)["header"] == "Current dataset: digits"
    pick(at, "upload:pets")
    assert shown(at)["header"] == "Current dataset: pets"


def test_upload_options_size_and_colour_apply(cifar_zip):
    at = start()
    widget(at.selectbox, "Image size").set_value(16)
    widget(at.radio, "Colour").set_value("grayscale")
    upload(at, "pets.zip", cifar_zip)
    assert shown(at)["metrics"][2] == "16 × 16 × 1"


def test_a_session_keeps_its_latest_uploads(cifar_zip):
    at = start()
    for name in ("a", "b", "c", "d"):
        upload(at, f"{name}.zip", cifar_zip)
    options = widget(at.selectbox, "Dataset").options
    assert [o for o in options if o.startswith("Your upload")] == [
        "Your upload: b",
        "Your upload: c",
        "Your upload: d",
    ]


def test_a_reload_keeps_the_uploads_and_the_chosen_dataset(cifar_zip):
    at = upload(start(), "pets.zip", cifar_zip)
    reloaded = reload_tab(at, PAGE, timeout=60)
    assert shown(reloaded)["header"] == "Current dataset: pets"
    assert "Your upload: pets" in widget(reloaded.selectbox, "Dataset").options


def test_another_session_never_sees_an_upload(cifar_zip):
    mine = upload(start(), "pets.zip", cifar_zip)
    assert shown(mine)["header"] == "Current dataset: pets"
    theirs = start()
    assert not any(o.startswith("Your upload") for o in widget(theirs.selectbox, "Dataset").options)
    assert shown(theirs)["header"] == "Current dataset: digits28"


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"../evil.png": b"x", "a/1.png": b"x"}, "its entry '../evil.png' has an absolute path or '..'"),
        ({"/etc/evil.png": b"x", "a/1.png": b"x"}, "its entry '/etc/evil.png' has an absolute path"),
        ({"a/bomb.png": b"\0" * (4 * 1024 * 1024)}, "which is what a zip bomb does"),
        ({}, "has no images in class folders"),
        ({"cat/1.png": png(np.zeros((8, 8, 3), np.uint8))} | {"cat/2.png": png(np.ones((8, 8, 3), np.uint8))}, "a classifier needs at least 2"),
    ],
)  # fmt: skip
def test_bad_upload_shows_one_sentence_and_keeps_the_current_dataset(entries, message, cifar_zip):
    at = pick(start(), "digits")
    upload(at, "bad.zip", make_zip(entries))
    view = shown(at)
    assert len(view["errors"]) == 1 and message in view["errors"][0]
    assert view["header"] == "Current dataset: digits"  # nothing lost
    upload(at, "pets.zip", cifar_zip)  # and the page keeps working
    assert shown(at)["header"] == "Current dataset: pets"


def test_skipped_files_are_reported_with_an_example(cifar_zip):
    with zipfile.ZipFile(io.BytesIO(cifar_zip)) as archive:
        entries = {i.filename: archive.read(i) for i in archive.infolist()}
    entries["pets/cat/notes.png"] = b"this is text"
    at = upload(start(), "pets.zip", make_zip(entries))
    assert at.warning[0].value == (
        "Skipped 1 file that could not be used, for example 'pets/cat/notes.png' "
        "(not an image); all other images loaded."
    )


def test_bad_npz_upload_shows_its_message():
    buffer = io.BytesIO()
    np.savez(buffer, x_train=np.zeros((4, 5, 5), np.uint8), y_train=[0, 1, 0, 1])
    at = start()
    at.file_uploader[0].set_value(("half.npz", buffer.getvalue(), "application/octet-stream")).run()
    at.button(key="use_upload").click().run()
    assert "lacks 'x_test', 'y_test'" in at.error[0].value


def test_with_the_network_blocked_the_download_error_shows_and_built_ins_still_work(
    tmp_path, monkeypatch
):
    def blocked(*args, **kwargs):
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket, "getaddrinfo", blocked)
    monkeypatch.setattr(socket.socket, "connect", blocked)
    for var in ("CNNLAB_DATA_DIR", "CNNLAB_CACHE_DIR", "KERAS_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var))
    at = start()
    widget(at.selectbox, "Dataset").set_value("mnist").run()
    assert at.button(key="use_dataset").label == "Download MNIST"
    at.button(key="use_dataset").click().run()
    assert not at.exception
    error = at.error[0].value
    assert error.startswith("Could not download MNIST (no connection to storage.googleapis.com")
    assert (
        "digits, digits28 or shapes" in error and "upload" in error and "CNNLAB_DATA_DIR" in error
    )
    assert shown(at)["header"] == "Current dataset: digits28"  # still the dataset from before
    pick(at, "shapes")
    assert shown(at)["header"] == "Current dataset: shapes32"
    assert shown(at)["errors"] == []


def test_page_under_navigation():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/data.py").run()
    assert not at.exception
    assert at.title[0].value == "Data"


RUN_PAGE_AND_REPORT_TENSORFLOW = """
import sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=60)
at.run()
next(s for s in at.selectbox if s.label == "Dataset").set_value("shapes").run()
at.button(key="use_dataset").click().run()
assert not at.exception, at.exception
print("tensorflow" in sys.modules)
"""


def test_data_page_never_imports_tensorflow():
    # A fresh interpreter: other tests in this process may have imported TensorFlow.
    out = subprocess.run(
        [sys.executable, "-c", RUN_PAGE_AND_REPORT_TENSORFLOW, PAGE],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.strip().splitlines()[-1] == "False"
