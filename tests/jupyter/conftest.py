"""Fixtures for the magics tests: a clean environment, names numbered from 0, the scripted chat server,
fresh IPython shells with the extension loaded, and a real kernel (jupyter_client)."""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.workbench.conftest import clean_env, reply, server  # noqa: F401 -- the same fixtures serve both
from trace_workbench.testing import ChatServer
from trace_workbench.testing.front_end import running_kernel


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


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[tuple[Any, ChatServer]]:
    """A python3 kernel in a temporary folder, its model at the scripted server, its history file there."""
    with ChatServer() as chat_server:
        env = {**os.environ, **chat_server.env(), "OPENAI_API_KEY": "test-key", "TRACE_WORKBENCH_TIMEOUT": "10",
               "TRACE_WORKBENCH_HISTORY": str(tmp_path / "history.sqlite")}
        for name in ("TRACE_WORKBENCH_REPLAY", "TRACE_WORKBENCH_RECORD", "TRACE_WORKBENCH_CACHE", "JPY_SESSION_NAME"):
            env.pop(name, None)
        with running_kernel(env, tmp_path) as client:
            yield client, chat_server


def fallback_svg(fallback: str) -> str:
    """The graph picture of a widget's static fallback HTML: an SVG inside an <img> data URL (JupyterLab's
    sanitizer keeps those, not inline <svg>); "" when there is none."""
    found = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', fallback)
    return base64.b64decode(found.group(1)).decode() if found else ""
