#!/usr/bin/env bash
# The README's test command: lint, format check, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
ruff check .
ruff format --check .
python -m pytest "$@"
