"""The IPython extension: `%load_ext trace_workbench` registers %%trace and the %trace_* magics.

The only layer that imports IPython. Loading adds no input transformer and no execution hook:
cells without %%trace run exactly as before.
"""

from __future__ import annotations

from typing import Any

from trace_workbench.workbench.session import Session, get_session, set_session

__all__ = ["load_ipython_extension", "show", "unload_ipython_extension"]

_LOADED: dict[int, Any] = {}


def _notebook_path(shell: Any) -> str | None:
    """The notebook's path when the front end tells the kernel (JupyterLab, VS Code), else None.

    A relative path (JupyterLab's, from the server's root) is taken in the kernel's directory, which
    is the notebook's own.
    """
    import os

    path = shell.user_ns.get("__vsc_ipynb_file__") or os.environ.get("JPY_SESSION_NAME")
    if not path:
        return None
    return path if os.path.isabs(path) else os.path.join(os.getcwd(), os.path.basename(path))


def show(output: Any = None, session: Session | None = None) -> Any:
    """The workbench widget for an output (a cell label, a node, a scope, or None for the last traced
    cell); needs the `jupyter` extra (anywidget), imported only now."""
    from trace_workbench.jupyter.widget import show as show_widget

    return show_widget(output, session)


def load_ipython_extension(shell: Any) -> None:
    """Register the magics on `shell`, with a new Session that becomes the kernel's current one."""
    from trace_workbench.jupyter.magics import TraceMagics
    from trace_workbench.jupyter.search_magics import register_search_magics

    if id(shell) in _LOADED:
        return
    session = Session(notebook=_notebook_path(shell))
    set_session(session)
    magics = TraceMagics(shell, session)
    shell.register_magics(magics)
    register_search_magics(shell, session)
    _LOADED[id(shell)] = magics


def unload_ipython_extension(shell: Any) -> None:
    """Remove the magics from `shell` and close its session's history file."""
    from trace_workbench.jupyter.search_magics import unregister_search_magics

    magics = _LOADED.pop(id(shell), None)
    if magics is None:
        return
    magics.close()
    unregister_search_magics(shell)
    for kind, names in magics.magics.items():
        for name in names:
            shell.magics_manager.magics[kind].pop(name, None)
    if get_session() is magics.session:
        set_session(None)
    magics.session.close()
