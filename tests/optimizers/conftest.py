"""Fixtures for the optimizer tests: a clean environment and graph, the scripted local chat server,
and an LLM pointed at it through the real openai client (short timeout, no retries)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.llm.conftest import ENV_NAMES
from trace_workbench.llm import LLM
from trace_workbench.llm.reply_format import forget_refusals
from trace_workbench.testing import ChatServer
from trace_workbench.trace import GRAPH


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """No model from the machine's environment, files in a temporary directory, names numbered from 0."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    GRAPH.clear()
    forget_refusals()  # a new test server may get the port of an earlier one


@pytest.fixture
def server() -> Iterator[ChatServer]:
    with ChatServer() as chat_server:
        yield chat_server


@pytest.fixture
def make_llm(server: ChatServer) -> Callable[..., LLM]:
    """Build an LLM talking to the test server (timeout 5 s, no retries, unless overridden)."""

    def make(**kwargs: Any) -> LLM:
        options: dict[str, Any] = {"model": "test-model", "base_url": server.base_url, "api_key": "test-key",
                                   "timeout": 5.0, "max_retries": 0}
        options.update(kwargs)
        return LLM(**options)

    return make


@pytest.fixture
def llm(make_llm: Callable[..., LLM]) -> LLM:
    return make_llm()


def reply(suggestion: Any = None, reasoning: str = "Because of the feedback.", answer: str = "") -> str:
    """An OptoPrime reply as a well-behaved model writes it."""
    return json.dumps({"reasoning": reasoning, "answer": answer, "suggestion": suggestion or {}})
