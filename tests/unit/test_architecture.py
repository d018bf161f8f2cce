"""The house's rules, read from the code's own imports (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "dashboard"
# Which packages each package may import (besides itself).
ALLOWED = {
    "data": set(),
    "model": {"data"},
    "compat": set(),
    "explore": {"model", "data"},
    "training": {"model", "data", "compat"},
    "insight": {"model", "data", "training", "compat"},
    "ui": {"model", "data", "training", "insight", "explore", "compat"},
}


def dashboard_imports(path: Path) -> set[str]:
    """The dashboard packages a module imports, anywhere in it (e.g. 'model')."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            if parts[0] == "dashboard":
                names = [parts[1]] if len(parts) > 1 else [a.name for a in node.names]
                found.update(names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "dashboard" and len(parts) > 1:
                    found.add(parts[1])
    return found & set(ALLOWED)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_run_one_way(package):
    for path in sorted((DASHBOARD / package).glob("*.py")):
        wrong = dashboard_imports(path) - ALLOWED[package] - {package}
        assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


def test_every_package_says_what_it_holds():
    for package in ALLOWED:
        doc = ast.get_docstring(ast.parse((DASHBOARD / package / "__init__.py").read_text()))
        assert doc and len(doc) > 40, package


def test_dashboard_has_no_flat_modules_left_but_the_cli():
    flat = {p.name for p in DASHBOARD.glob("*.py")}
    assert flat == {"__init__.py", "__main__.py", "cli.py"}
