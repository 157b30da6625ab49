"""Loading the extension: magics registered, nothing else hooked, plain cells unaffected, clean unload."""

from __future__ import annotations

import subprocess
import sys

from trace_workbench.trace import GRAPH
from trace_workbench.workbench import get_session

from .conftest import run

MAGICS = {"trace_feedback", "trace_propose", "trace_accept", "trace_reject", "trace_undo", "trace_history",
          "trace_restore", "trace_config", "trace_optimize"}


def test_import_trace_workbench_stays_cheap() -> None:
    code = "import sys, trace_workbench; assert 'IPython' not in sys.modules and 'openai' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_load_ext_registers_the_magics_and_no_hooks(make_shell) -> None:
    shell = make_shell(load=False)
    transformers = list(shell.input_transformers_post), list(shell.input_transformer_manager.cleanup_transforms)
    callbacks = {name: list(c) for name, c in shell.events.callbacks.items()}
    ast_transformers = list(shell.ast_transformers)
    assert run(shell, "%load_ext trace_workbench").success
    assert "trace" in shell.magics_manager.magics["cell"]
    assert MAGICS <= set(shell.magics_manager.magics["line"])
    assert (list(shell.input_transformers_post), list(shell.input_transformer_manager.cleanup_transforms)) \
        == transformers
    assert {name: list(c) for name, c in shell.events.callbacks.items()} == callbacks
    assert list(shell.ast_transformers) == ast_transformers


def test_cells_without_trace_run_as_before_and_make_no_nodes(make_shell) -> None:
    cell = "def f(s):\n    return s.upper()\nwords = [f(w) for w in 'a b c'.split()]\n' '.join(words) + str(1 / 4)"
    plain = make_shell(load=False)
    expected = run(plain, cell).result
    shell = make_shell()
    made: list[str] = []
    GRAPH.add_listener(lambda event, node, payload: made.append(node.name))
    try:
        result = run(shell, cell)
    finally:
        GRAPH._listeners.clear()
    assert result.result == expected == "A B C0.25"
    assert made == []
    error = run(shell, "1 / 0")
    assert isinstance(error.error_in_exec, ZeroDivisionError) and made == []


def test_unload_removes_the_magics(shell) -> None:
    session = get_session()
    assert run(shell, "%unload_ext trace_workbench").success
    assert "trace" not in shell.magics_manager.magics["cell"]
    assert not MAGICS & set(shell.magics_manager.magics["line"])
    assert get_session() is not session
    result = run(shell, "%%trace\n1")
    assert not result.success


def test_the_history_lives_beside_the_notebook(make_shell, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("JPY_SESSION_NAME", "work/analysis.ipynb")  # as JupyterLab sets it, from its root
    make_shell()
    session = get_session()
    assert session.notebook == str(tmp_path / "analysis.ipynb")
    assert session.history.path == tmp_path / ".trace_workbench" / "history.sqlite"
