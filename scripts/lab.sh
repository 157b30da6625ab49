#!/usr/bin/env bash
# Installs the project with the JupyterLab extras and opens JupyterLab on the quickstart notebook.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -e ".[jupyter]"
# The JupyterLab extension that writes accepted values into cells, linked into this environment.
python3 scripts/link_labextension.py
extra=()
[[ $(id -u) -eq 0 ]] && extra+=(--allow-root)
exec python3 -m jupyterlab "${extra[@]}" "$@" notebooks/01_quickstart.ipynb
