"""trace_workbench: Trace (generative optimization with execution traces and LLMs) and a JupyterLab
workbench to drive it. `from trace_workbench import trace` gives the engine; `%load_ext trace_workbench`
loads the notebook magics."""

from typing import Any

from trace_workbench import trace

__version__ = "0.1.0"
__all__ = ["load_ipython_extension", "trace", "unload_ipython_extension"]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the prebuilt JupyterLab extension (it writes accepted values into cells) lives in the package,
    for `jupyter labextension develop` after an editable install (scripts/lab.sh and scripts/test.sh)."""
    return [{"src": "labextension", "dest": "trace-workbench"}]


def load_ipython_extension(shell: Any) -> None:
    """`%load_ext trace_workbench`: register %%trace and the %trace_* magics (IPython is imported only now)."""
    from trace_workbench.jupyter import load_ipython_extension as load

    load(shell)


def unload_ipython_extension(shell: Any) -> None:
    """`%unload_ext trace_workbench`: remove the magics."""
    from trace_workbench.jupyter import unload_ipython_extension as unload

    unload(shell)
