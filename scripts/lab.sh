#!/usr/bin/env bash
# Installs the project (today's releases, with the JupyterLab extras and the local model) into its virtual
# environment (see venv.sh), then opens JupyterLab on the quickstart notebook.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
install_extras "jupyter,local"
install_local_model
# The JupyterLab extension (it writes accepted values into cells and serves the widget), linked into the
# environment as `jupyter labextension develop` does.
"$PYTHON" scripts/link_labextension.py
extra=()
[[ $(id -u) -eq 0 ]] && extra+=(--allow-root)
exec "$PYTHON" -m jupyterlab "${extra[@]}" "$@" notebooks/01_quickstart.ipynb
