"""Fixtures for the magics tests: a clean environment, names numbered from 0, the scripted chat server and
fresh IPython shells with the extension loaded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.workbench.conftest import clean_env, reply, server  # noqa: F401 -- the same fixtures serve both


@pytest.fixture
def make_shell() -> Iterator[Any]:
    """Make fresh IPython shells with the extension loaded (unloaded again after the test)."""
    from IPython.core.interactiveshell import InteractiveShell

    shells: list[Any] = []

    def make(load: bool = True) -> Any:
        shell = InteractiveShell()
        if load:
            assert run(shell, "%load_ext trace_workbench").success
        shells.append(shell)
        return shell

    yield make
    for shell in shells:
        if "trace_workbench" in shell.extension_manager.loaded:
            shell.run_line_magic("unload_ext", "trace_workbench")
        shell.history_manager.end_session()
    InteractiveShell.clear_instance()


@pytest.fixture
def shell(make_shell) -> Any:
    return make_shell()


def run(shell: Any, cell: str) -> Any:
    """Run a cell as the notebook would (stored in the history, so it gets an execution count)."""
    return shell.run_cell(cell, store_history=True)
