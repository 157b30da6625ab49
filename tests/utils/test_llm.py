"""Trace's LLM classes where Trace has them (trace_workbench.utils.llm), against the scripted local server."""

from __future__ import annotations

import copy
import json
import pickle
import warnings

import pytest

from tests.llm.conftest import ENV_NAMES
from trace_workbench import llm as tw_llm
from trace_workbench.optimizers import OptoPrime
from trace_workbench.testing import ChatServer
from trace_workbench.trace import node
from trace_workbench.utils.llm import LLM, AbstractModel, AutoGenLLM, CustomLLM, LiteLLM

TRACE_ENV = ("TRACE_LITELLM_MODEL", "DEFAULT_LITELLM_MODEL", "OAI_CONFIG_LIST", "TRACE_CUSTOMLLM_MODEL",
             "TRACE_CUSTOMLLM_URL", "TRACE_CUSTOMLLM_API_KEY")
HELLO = [{"role": "user", "content": "Hello world."}]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in (*ENV_NAMES, *TRACE_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    with ChatServer(responder=lambda body: f"answered by {body['model']}") as chat_server:
        monkeypatch.setenv("OPENAI_BASE_URL", chat_server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "dummy")
        yield chat_server


def reply(model) -> str:
    return model(messages=HELLO).choices[0].message.content


def test_trace_llm_is_the_workbench_llm_and_answers_with_only_a_base_url(server):
    assert LLM is tw_llm.LLM
    with pytest.warns(UserWarning, match="asking it for 'gpt-4o', as Trace does"):
        assert reply(LLM()) == "answered by gpt-4o"
    headers = {k.lower(): v for k, v in server.completion_requests[0].headers.items()}
    assert headers["authorization"] == "Bearer dummy"


def test_litellm_takes_trace_litellm_model_then_warns_and_falls_back(server, monkeypatch):
    monkeypatch.setenv("TRACE_LITELLM_MODEL", "from-env")
    assert reply(LiteLLM()) == "answered by from-env"
    assert reply(LiteLLM("given")) == "answered by given" and LiteLLM("given").model_name == "given"
    monkeypatch.delenv("TRACE_LITELLM_MODEL")
    with pytest.warns(UserWarning, match="TRACE_LITELLM_MODEL environment variable is not found"):
        assert LiteLLM().model_name == "gpt-4o"
    monkeypatch.setenv("DEFAULT_LITELLM_MODEL", "older-default")
    with pytest.warns(UserWarning, match="DEFAULT_LITELLM_MODEL"):
        assert reply(LiteLLM()) == "answered by older-default"


def test_reset_freq_rebuilds_the_client_only_when_due(server):
    fresh, kept = LiteLLM("m", reset_freq=0), LiteLLM("m")
    reply(fresh)
    reply(kept)
    first_fresh, first_kept = fresh._client, kept._client
    reply(fresh)
    reply(kept)
    assert fresh._client is not first_fresh and kept._client is first_kept


def test_autogen_llm_takes_the_first_config_that_passes_the_filter(server):
    configs = [{"model": "a", "base_url": server.base_url, "api_key": "k1"}, {"model": "b", "api_key": "k2"}]
    assert reply(AutoGenLLM(config_list=configs)) == "answered by a"
    chosen = AutoGenLLM(config_list=configs, filter_dict={"model": ["b"]})
    assert reply(chosen) == "answered by b"
    headers = {k.lower(): v for k, v in server.completion_requests[-1].headers.items()}
    assert headers["authorization"] == "Bearer k2"
    with pytest.raises(tw_llm.LLMConfigError, match="No entry of the config list passes"):
        AutoGenLLM(config_list=configs, filter_dict={"model": ["c"]})


def test_autogen_llm_reads_oai_config_list_from_the_environment_or_a_file(server, monkeypatch, tmp_path):
    monkeypatch.setenv("OAI_CONFIG_LIST", json.dumps([{"model": "from-json"}]))
    assert reply(AutoGenLLM()) == "answered by from-json"
    (tmp_path / "configs.json").write_text(json.dumps([{"model": "from-file"}]))
    monkeypatch.setenv("OAI_CONFIG_LIST", "configs.json")
    assert reply(AutoGenLLM()) == "answered by from-file"
    monkeypatch.delenv("OAI_CONFIG_LIST")
    (tmp_path / "OAI_CONFIG_LIST").write_text(json.dumps([{"model": "from-default-file"}]))
    assert reply(AutoGenLLM()) == "answered by from-default-file"
    (tmp_path / "OAI_CONFIG_LIST").write_text("{not json")
    with pytest.raises(tw_llm.LLMConfigError, match="OAI_CONFIG_LIST is not a JSON list"):
        AutoGenLLM()
    (tmp_path / "OAI_CONFIG_LIST").unlink()
    assert reply(AutoGenLLM()) == "answered by gpt-4o"  # Trace's fallback: the environment's key and URL


def test_custom_llm_reads_trace_customllm_settings(server, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.setenv("TRACE_CUSTOMLLM_URL", server.base_url)
    monkeypatch.setenv("TRACE_CUSTOMLLM_MODEL", "custom")
    monkeypatch.setenv("TRACE_CUSTOMLLM_API_KEY", "server-key")
    assert reply(CustomLLM()) == "answered by custom"
    headers = {k.lower(): v for k, v in server.completion_requests[-1].headers.items()}
    assert headers["authorization"] == "Bearer server-key"


def test_abstract_model_refreshes_its_model_and_rebuilds_it_when_unpickled():
    built = []

    def factory():
        built.append(object())
        return lambda *args, **kwargs: (len(built), args, kwargs)

    model = AbstractModel(factory, reset_freq=None)
    assert model("x", k=1) == (1, ("x",), {"k": 1}) and model() == (1, (), {})
    refreshing = AbstractModel(factory, reset_freq=0)
    assert refreshing()[0] == 3  # built at construction (2), rebuilt at the call (3)
    clone = pickle.loads(pickle.dumps(AbstractModel(_factory)))
    assert clone._model is not None and clone() == "made"


def _factory():
    return lambda: "made"


def test_an_optimizer_with_a_trace_llm_copies_and_steps(server):
    x = node(1, trainable=True, name="x")
    server.add_replies(json.dumps({"reasoning": "bigger", "suggestion": {"x": 2}}))
    optimizer = OptoPrime([x], llm=LiteLLM("m"))
    clone = copy.deepcopy(optimizer)
    assert clone.llm is not optimizer.llm and clone.parameters[0] is not x
    out = x * 2
    optimizer.zero_feedback()
    optimizer.backward(out, "make it bigger")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optimizer.step()
    assert x.data == 2
