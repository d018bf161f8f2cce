"""The limits kept in one place agree with the server config, and the path check is strict."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from PIL import Image

from dashboard.data import limits

ROOT = Path(__file__).resolve().parents[2]


def test_upload_limit_matches_streamlit_config():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * limits.MB == limits.MAX_UPLOAD_BYTES


def test_pillow_guard_uses_the_pixel_limit():
    assert Image.MAX_IMAGE_PIXELS == limits.MAX_IMAGE_PIXELS


@pytest.mark.parametrize(
    ("name", "unsafe"),
    [
        ("cats/1.jpg", False),
        ("train/cats/..jpg", False),  # a dotted file name is not a parent folder
        ("../evil.png", True),
        ("cats/../../evil.png", True),
        ("cats\\..\\evil.png", True),
        ("/etc/passwd", True),
        ("\\server\\share.png", True),
        ("C:/Windows/x.png", True),
        ("c:evil.png", True),
    ],
)
def test_unsafe_names(name, unsafe):
    assert limits.is_unsafe_name(name) is unsafe


def test_sizes_read_as_people_write_them():
    assert limits.human_bytes(200 * limits.MB) == "200 MB"
    assert limits.human_bytes(3500) == "3.4 KB"
    assert limits.human_bytes(12) == "12 bytes"
