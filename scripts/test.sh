#!/usr/bin/env bash
# Installs the project with its test extras, then runs the linter and every test.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -e ".[dev]"
python3 -m ruff check trace_workbench tests benchmarks
python3 -m pytest -q "$@"
