"""requirements.txt resolves as Streamlit Community Cloud installs it.

Cloud runs Debian bullseye (glibc 2.31) with Python 3.12 by default, 3.13 on request.
pip must find a wheel for every pin on one of the glibc tags bullseye accepts: a single
manylinux2014 tag is not enough (tensorflow-cpu 2.21 ships only manylinux_2_27 wheels).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLATFORMS = [
    "manylinux_2_31_x86_64",
    "manylinux_2_28_x86_64",
    "manylinux_2_27_x86_64",
    "manylinux_2_24_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
]


def test_every_runtime_pin_is_exact():
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            assert re.match(r"^[A-Za-z0-9_.-]+==[0-9][^;\s]*(\s*;.+)?$", line), line


@pytest.mark.parametrize("python_version", ["3.12", "3.13"])
def test_requirements_resolve_for_cloud(python_version, tmp_path):
    report = tmp_path / "report.json"
    cmd = [
        sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--only-binary=:all:",
        "--python-version", python_version, "--target", str(tmp_path / "target"),
        "--report", str(report), "-r", str(ROOT / "requirements.txt"),
    ]  # fmt: skip
    for platform in PLATFORMS:
        cmd += ["--platform", platform]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if result.returncode != 0 and "Could not fetch" in result.stderr + result.stdout:
        pytest.skip("the package index is not reachable from here")
    assert result.returncode == 0, result.stderr[-2000:]
    installed = {
        re.sub(r"[-_.]+", "-", item["metadata"]["name"]).lower()
        for item in json.loads(report.read_text())["install"]
    }
    assert {"streamlit", "tensorflow-cpu", "keras", "plotly", "pillow", "pandas"} <= installed
