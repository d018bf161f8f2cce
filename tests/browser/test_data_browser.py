"""The Data page in a real browser: pick shapes, upload a zip of real CIFAR-10 photos."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from conftest import page_errors
from PIL import Image

from dashboard.data.datasets import CIFAR10_NAMES

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def pets_zip(cifar_path, tmp_path_factory):
    with np.load(cifar_path) as npz:
        x, y = npz["x_train"], npz["y_train"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for c in (3, 5):  # cat, dog
            for i in np.flatnonzero(y == c)[:10]:
                data = io.BytesIO()
                Image.fromarray(x[i]).resize((96, 96)).save(data, "JPEG")
                archive.writestr(f"pets/{CIFAR10_NAMES[c]}/{i}.jpg", data.getvalue())
        archive.writestr("pets/cat/notes.png", b"not a picture")
    path = tmp_path_factory.mktemp("upload") / "pets.zip"
    path.write_bytes(buffer.getvalue())
    return path


def test_pick_shapes_then_upload_a_zip(page, app_url, pets_zip, artifacts_dir):
    page.goto(app_url)
    page.get_by_role("link", name="Data").first.click()
    page.get_by_text("Current dataset: digits28").wait_for(timeout=60_000)

    page.locator('[data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name="Shapes (built in)").click()
    page.get_by_role("button", name="Generate Shapes").click()
    page.get_by_text("Current dataset: shapes32").wait_for(timeout=60_000)
    page.get_by_text("circle: 320 train, 80 test").wait_for()

    page.get_by_role("tab", name="Upload your own").click()
    page.locator("input[type=file]").set_input_files(str(pets_zip))
    page.get_by_text("pets.zip").first.wait_for()
    page.get_by_role("button", name="Use this upload").click()
    page.get_by_text("Current dataset: pets").wait_for(timeout=60_000)
    page.get_by_text("cat: 8 train, 2 test").wait_for()
    page.get_by_text("dog: 8 train, 2 test").wait_for()
    assert page.get_by_text("Skipped 1 file that could not be used").is_visible()
    page.screenshot(path=artifacts_dir / "data_upload.png", full_page=True)
    assert page_errors(page) == []
