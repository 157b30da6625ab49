"""Fixtures for the training tests: a scripted server answering the program and the optimizer differently,
a small language-detection agent and the shipped dataset (tests/train/data/languages.jsonl)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trace_workbench.llm import ENV_PROGRAM_MODEL, LLM, set_program_llm
from trace_workbench.testing import ChatServer
from trace_workbench.trace import GRAPH, MessageNode, Module, node
from trace_workbench.trace.operators import call_llm

DATA = Path(__file__).parent / "data" / "languages.jsonl"
SPANISH = ("hola", "soy", "buenos", "gracias", "donde", "gusta", "hasta")
ENV_NAMES = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "TRACE_WORKBENCH_MODEL", "TRACE_WORKBENCH_CACHE",
             "TRACE_WORKBENCH_REPLAY", "TRACE_WORKBENCH_RECORD", ENV_PROGRAM_MODEL)


def load(path: Path = DATA) -> list[dict[str, Any]]:
    """The shipped examples: {"input": sentence, "info": "es" | "en"}."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class LangAgent(Module):
    """Names the language of a sentence by asking the model, with a trainable instruction."""

    def __init__(self) -> None:
        self.instruction = node("Decide the language.", trainable=True)

    def forward(self, query: Any) -> MessageNode:
        return call_llm("You classify sentences.", self.instruction, query)


def metric(output: str, info: str) -> float:
    return float(output == info)


def feedback_fn(output: str, info: str) -> tuple[str, float]:
    return ("Correct" if output == info else f"Expected {info}, got {output}"), metric(output, info)


class Script:
    """The server's answers. The program: the right code once the instruction says "Answer es or en",
    always "en" at "v1", else "unknown". The optimizer's k-th step proposes SUGGESTIONS[k-1]."""

    SUGGESTIONS = ["Decide the language, v1.", "Decide the language. Answer es or en.",
                   "Decide the language, v1.", "Decide the language. Answer es or en, v4."]

    def __init__(self, suggestions: list[str] | None = None, program_delay: float = 0.0) -> None:
        self.suggestions = suggestions or self.SUGGESTIONS
        self.program_delay = program_delay
        self.optimizer_calls = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> str:
        messages = body["messages"]
        if body["model"] == "optimizer-model":
            with self._lock:
                self.optimizer_calls += 1
                value = self.suggestions[min(self.optimizer_calls, len(self.suggestions)) - 1]
            user = messages[-1]["content"]
            name = user.split("#Variables", 1)[1].split("(str) ", 1)[1].split("=", 1)[0]
            return json.dumps({"reasoning": "step", "answer": "", "suggestion": {name: value}})
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.program_delay:
                time.sleep(self.program_delay)
            instruction, query = messages[1]["content"], messages[2]["content"].lower()
            if "Answer es or en" in instruction:
                return "es" if any(word in query for word in SPANISH) else "en"
            return "en" if "v1" in instruction else "unknown"
        finally:
            with self._lock:
                self.in_flight -= 1


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[ChatServer]:
    """A ChatServer the program LLM reaches through the environment, answering with a fresh Script."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    GRAPH.clear()
    with ChatServer(responder=Script()) as chat_server:
        for name, value in chat_server.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        set_program_llm(None)
        yield chat_server
    set_program_llm(None)


@pytest.fixture
def optimizer_llm(server: ChatServer) -> LLM:
    return LLM(model="optimizer-model", base_url=server.base_url, api_key="test-key", max_retries=0)
