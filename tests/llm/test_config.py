"""Configuration: arguments first, then the environment, and one clear error when nothing is set."""

from __future__ import annotations

import copy
import os
import warnings

import pytest

from trace_workbench.llm import DEFAULT_MODEL, LLM, LLMConfig, LLMConfigError, LLMTimeoutError, prompt_api_key
from trace_workbench.llm.config import redact_url

from .support import user


def test_llm_with_nothing_configured_constructs_copies_and_fails_at_the_first_call():
    llm = LLM()
    clone = copy.deepcopy(llm)
    with pytest.raises(LLMConfigError) as caught:
        clone(messages=user("Hello world."))
    message = str(caught.value)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "TRACE_WORKBENCH_MODEL", "LLM(model="):
        assert name in message


def test_environment_is_read_at_call_time(server, monkeypatch):
    server.add_replies("from the environment")
    llm = LLM()
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("TRACE_WORKBENCH_MODEL", "env-model")
    monkeypatch.setenv("OPENAI_API_KEY", "env-key")
    assert llm("hi").choices[0].message.content == "from the environment"
    (request,) = server.requests
    assert request.body["model"] == "env-model"
    assert {k.lower(): v for k, v in request.headers.items()}["authorization"] == "Bearer env-key"
    assert llm.model == "env-model"


def test_arguments_win_over_the_environment(server, monkeypatch):
    server.add_replies("ok")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("TRACE_WORKBENCH_MODEL", "env-model")
    monkeypatch.setenv("OPENAI_API_KEY", "env-key")
    LLM("arg-model", base_url=server.base_url, api_key="arg-key")("hi")
    (request,) = server.requests
    assert request.body["model"] == "arg-model"
    assert {k.lower(): v for k, v in request.headers.items()}["authorization"] == "Bearer arg-key"


def test_a_server_given_by_base_url_gets_a_placeholder_key(server):
    server.add_replies("no key needed")
    assert LLM("served-model", base_url=server.base_url)("hi").choices[0].message.content == "no key needed"
    headers = {k.lower(): v for k, v in server.requests[0].headers.items()}
    assert headers["authorization"] == "Bearer not-needed"


def test_a_base_url_without_a_model_asks_for_the_default_model_with_a_warning_as_trace(server):
    server.add_replies("from the default model", "again")
    with pytest.warns(UserWarning, match="No model is set for the server at .* asking it for 'gpt-4o'") as caught:
        assert LLM(base_url=server.base_url)("hi").choices[0].message.content == "from the default model"
    assert len(caught) == 1 and "TRACE_WORKBENCH_MODEL" in str(caught[0].message)
    assert server.completion_requests[0].body["model"] == DEFAULT_MODEL
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once per server, not at every call
        LLM(base_url=server.base_url)("hi")


def test_a_key_alone_means_openai_with_the_default_model():
    config = LLMConfig.resolve(env={"OPENAI_API_KEY": "k"})
    assert config.base_url is None
    assert config.model is None
    assert config.effective_model == DEFAULT_MODEL
    assert config.require() == (DEFAULT_MODEL, "k")


def test_a_model_alone_still_needs_a_key_or_a_server():
    config = LLMConfig.resolve(env={"TRACE_WORKBENCH_MODEL": "gpt-4o-mini"})
    with pytest.raises(LLMConfigError, match="OPENAI_API_KEY"):
        config.require()


def test_timeout_comes_from_the_environment(server, monkeypatch):
    server.slow(3.0)
    monkeypatch.setenv("TRACE_WORKBENCH_TIMEOUT", "0.3")
    llm = LLM("m", base_url=server.base_url, max_retries=0)
    with pytest.raises(LLMTimeoutError, match=r"timeout 0\.3 s"):
        llm("hi")
    monkeypatch.setenv("TRACE_WORKBENCH_TIMEOUT", "soon")
    assert repr(llm).startswith("LLM(model='m'")
    assert "TRACE_WORKBENCH_TIMEOUT='soon'" in llm.config().describe()
    with pytest.raises(LLMConfigError, match="TRACE_WORKBENCH_TIMEOUT='soon'"):
        llm("hi")


def test_describe_says_what_is_set_without_the_key():
    config = LLMConfig.resolve(model="m", base_url="http://u:pw@host:8000/v1?x=1", api_key="sk-secret-value")
    text = config.describe()
    assert "sk-secret-value" not in text and "pw" not in text
    assert "model='m'" in text and "base_url='http://***@host:8000/v1?x=***'" in text and "api_key set" in text
    assert "sk-secret-value" not in repr(config)


def test_redact_url_hides_credentials_and_query_values():
    assert (redact_url("https://user:pass@example.com:8443/openai/v1?api-key=abc&api-version=1")
            == "https://***@example.com:8443/openai/v1?api-key=***&api-version=***")
    assert redact_url("http://localhost:11434/v1") == "http://localhost:11434/v1"
    assert redact_url(None) is None


def test_prompt_api_key_sets_the_environment_without_echoing(monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", "old")  # restored after the test
    monkeypatch.setattr("getpass.getpass", lambda prompt: "  sk-typed  ")
    assert prompt_api_key() is True
    assert os.environ["OPENAI_API_KEY"] == "sk-typed"
    monkeypatch.setattr("getpass.getpass", lambda prompt: "")
    assert prompt_api_key() is False
    assert os.environ["OPENAI_API_KEY"] == "sk-typed"
    assert "sk-typed" not in capsys.readouterr().out
