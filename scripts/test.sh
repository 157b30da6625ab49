#!/usr/bin/env bash
# Installs the project with its test extras, then runs the linter and every test.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -e ".[dev]"
# The JupyterLab extension that writes accepted values into cells, linked into this environment.
python3 scripts/link_labextension.py
# The widget: its browser tests drive Debian's chromium (never a downloaded browser), and the
# bundle check rebuilds js/ with its locked npm packages.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq chromium
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq chromium
  fi
fi
(cd js && npm ci --no-audit --no-fund --loglevel=error)
python3 -m ruff check trace_workbench tests benchmarks notebooks scripts
python3 -m pytest -q --nbval-lax --nbval-current-env "$@"
