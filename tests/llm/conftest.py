"""Fixtures for the LLM tests: a clean environment, a scripted local server and an LLM pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from trace_workbench.llm import LLM
from trace_workbench.llm.reply_format import forget_refusals
from trace_workbench.testing import ChatServer

ENV_NAMES = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "TRACE_WORKBENCH_MODEL",
    "TRACE_WORKBENCH_TIMEOUT",
    "TRACE_WORKBENCH_CACHE",
    "TRACE_WORKBENCH_REPLAY",
    "TRACE_WORKBENCH_RECORD",
    "TRACE_WORKBENCH_REPLAY_MISS",
    "TRACE_WORKBENCH_STRUCTURED",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """No model configured from the machine's environment; files land in a temporary directory."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    forget_refusals()  # a new test server may get the port of an earlier one


@pytest.fixture
def server() -> Iterator[ChatServer]:
    with ChatServer() as chat_server:
        yield chat_server


@pytest.fixture
def make_llm(server: ChatServer) -> Callable[..., LLM]:
    """Build an LLM talking to the test server; short timeout and two retries unless overridden."""

    def make(**kwargs) -> LLM:
        options = {"model": "test-model", "base_url": server.base_url, "api_key": "test-key",
                   "timeout": 5.0, "max_retries": 2}
        options.update(kwargs)
        return LLM(**options)

    return make
