"""Server faults injected in the local server surface as clear LLM errors; nothing changes."""

from __future__ import annotations

import copy

import pytest

from tests.optimizers.conftest import reply
from tests.optimizers.graphs import foobar
from trace_workbench.llm import (
    LLMAuthError,
    LLMConfigError,
    LLMConnectionError,
    LLMRateLimitError,
    LLMRequestError,
    LLMResponseError,
    LLMServerError,
    LLMTimeoutError,
)
from trace_workbench.optimizers import OPRO, OptimizerError, OptoPrime, TextGrad
from trace_workbench.trace import node

FAULTS = {
    "server error": (lambda s: s.fail(500, "The model crashed"), LLMServerError,
                     "failed the chat completion for model 'test-model' at http://127.0.0.1:"),
    "rate limited": (lambda s: s.rate_limit(times=1), LLMRateLimitError, "was rate limited (HTTP 429)"),
    "timeout": (lambda s: s.slow(3.0), LLMTimeoutError, "timed out"),
    "malformed body": (lambda s: s.malformed(), LLMResponseError, "was not valid JSON"),
    "dropped connection": (lambda s: s.drop(), LLMConnectionError, "the connection failed"),
    "bad credentials": (lambda s: s.fail(401, "Invalid API key"), LLMAuthError, 'Server said: "Invalid API key"'),
    "request rejected twice": (lambda s: s.fail(400, "Bad request", times=2), LLMRequestError, "(HTTP 400)"),
    "script exhausted": (lambda s: None, LLMServerError, "ChatServer script exhausted"),
}


@pytest.mark.parametrize("inject, error_type, message", FAULTS.values(), ids=FAULTS.keys())
def test_fault_is_a_clear_error_and_changes_nothing(inject, error_type, message, server, make_llm):
    inject(server)
    x = node(-1.0, trainable=True)
    optimizer = OptoPrime([x], llm=make_llm(timeout=0.5), memory_size=3)
    optimizer.zero_feedback()
    optimizer.backward(foobar(x), "The number needs to be larger.")

    with pytest.raises(error_type) as raised:
        optimizer.step()

    assert message in str(raised.value)
    assert "test-key" not in str(raised.value)
    assert x.data == -1.0
    assert optimizer.log == [] and len(optimizer.memory) == 0
    with pytest.raises(OptimizerError, match="Nothing to revert"):
        optimizer.revert()


def test_bad_credentials_are_not_retried_without_response_format(server, llm):
    server.fail(401, "Invalid API key")
    x = node(1.0, trainable=True)
    optimizer = OptoPrime([x], llm=llm)
    optimizer.zero_feedback()
    optimizer.backward(x * 2, "Too small.")

    with pytest.raises(LLMAuthError):
        optimizer.propose()

    assert len(server.completion_requests) == 1


def test_transient_faults_are_retried_by_the_client(server, make_llm):
    server.fail(500, "Overloaded", times=2, headers={"retry-after-ms": "10"})
    server.add_replies(reply({"float0": 2.0}))
    x = node(1.0, trainable=True)
    optimizer = OptoPrime([x], llm=make_llm(max_retries=2))
    optimizer.zero_feedback()
    optimizer.backward(x * 2, "Too small.")

    optimizer.step()

    assert x.data == 2.0
    assert len(server.completion_requests) == 3


@pytest.mark.parametrize("cls", [OptoPrime, OPRO, TextGrad])
def test_every_optimizer_raises_server_faults_unchanged(cls, server, llm):
    server.fail(503, "Service unavailable")
    x = node(-1.0, trainable=True)
    optimizer = cls([x], llm=llm)
    optimizer.zero_feedback()
    optimizer.backward(foobar(x), "The number needs to be larger.")

    with pytest.raises(LLMServerError, match="HTTP 503"):
        optimizer.step()

    assert x.data == -1.0


def test_no_model_configured_fails_at_the_first_call_not_before():
    x = node(-1.0, trainable=True)
    optimizer = OptoPrime([x])
    twin = copy.deepcopy(optimizer)
    twin.zero_feedback()
    twin.backward(foobar(twin.parameters[0]), "The number needs to be larger.")

    with pytest.raises(LLMConfigError, match="No LLM is configured"):
        twin.step()

    assert twin.parameters[0] is not x and twin.parameters[0].data == -1.0
