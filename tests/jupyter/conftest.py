"""Fixtures for the magics tests: a clean environment, names numbered from 0, the scripted chat server and
fresh IPython shells with the extension loaded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from trace_workbench.testing import ChatServer
from trace_workbench.trace import GRAPH
from trace_workbench.workbench import set_session

ENV_NAMES = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "TRACE_WORKBENCH_MODEL",
             "TRACE_WORKBENCH_TIMEOUT", "TRACE_WORKBENCH_CACHE", "TRACE_WORKBENCH_REPLAY", "TRACE_WORKBENCH_RECORD",
             "TRACE_WORKBENCH_HISTORY", "JPY_SESSION_NAME")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    """No model or history from the machine's environment; files in a temporary directory."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    GRAPH.clear()
    yield
    set_session(None)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatServer]:
    """The scripted server, with the environment pointing the real openai client at it (key from the env)."""
    with ChatServer() as chat_server:
        for name, value in chat_server.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.setenv("TRACE_WORKBENCH_TIMEOUT", "5")
        yield chat_server


def reply(suggestion: dict[str, Any] | None = None, reasoning: str = "Because of the feedback.") -> str:
    """An OptoPrime reply as a well-behaved model writes it."""
    return json.dumps({"reasoning": reasoning, "answer": "", "suggestion": suggestion or {}})


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
