#!/usr/bin/env bash
# Installs the project (today's releases, with its test extras and the local model) into its virtual
# environment (see venv.sh), then runs the linter and every test.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
install_extras "dev,local"
install_local_model
# The JupyterLab extension (it writes accepted values into cells and serves the widget), linked into the
# environment as `jupyter labextension develop` does.
"$PYTHON" scripts/link_labextension.py
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
"$PYTHON" -m ruff check trace_workbench tests benchmarks notebooks scripts
status=0
"$PYTHON" -m pytest -q --nbval-lax --nbval-current-env "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests (exit 5): that is a failure, not a pass" >&2
fi
exit "$status"
