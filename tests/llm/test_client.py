"""LLM: Trace's calling convention over the real openai client, against the local test server."""

from __future__ import annotations

import copy
import pickle

import pytest
from openai.types.chat import ChatCompletion

from trace_workbench.llm import LLM

from .support import user


def test_trace_calling_convention_ports(server, make_llm):
    server.add_replies("Hello from the model.", "Created.")
    llm = make_llm()
    messages = [{"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "Hello world."}]
    output = llm(messages=messages)
    assert isinstance(output, ChatCompletion)
    assert output.choices[0].message.content == "Hello from the model."
    assert llm.create(messages=messages).choices[0].message.content == "Created."
    assert [r.messages for r in server.requests] == [messages, messages]
    assert [r.body["model"] for r in server.requests] == ["test-model", "test-model"]


def test_messages_can_be_positional_or_a_plain_string(server, make_llm):
    server.add_replies("one", "two")
    llm = make_llm()
    assert llm(user("positional")).choices[0].message.content == "one"
    assert llm("just text").choices[0].message.content == "two"
    assert server.requests[1].messages == user("just text")


def test_default_settings_are_sent_and_per_call_settings_win(server, make_llm):
    server.add_replies("a", "b")
    llm = make_llm(temperature=0.0, max_tokens=50)
    llm("x")
    llm("y", temperature=0.7, response_format={"type": "json_object"})
    first, second = (r.body for r in server.requests)
    assert (first["temperature"], first["max_tokens"]) == (0.0, 50)
    assert (second["temperature"], second["max_tokens"]) == (0.7, 50)
    assert second["response_format"] == {"type": "json_object"}


def test_per_call_model_overrides_the_configured_one(server, make_llm):
    server.add_replies("ok")
    make_llm()("x", model="other-model")
    assert server.requests[0].body["model"] == "other-model"


def test_several_choices(server, make_llm):
    server.add_replies("a", "b", "c")
    reply = make_llm()("pick three", n=3)
    assert [c.message.content for c in reply.choices] == ["a", "b", "c"]


def test_a_previous_reply_message_can_be_sent_back(server, make_llm):
    server.add_replies("first answer", "second answer")
    llm = make_llm(cache=True)
    first = llm("question")
    conversation = [*user("question"), first.choices[0].message, *user("and then?")]
    assert llm(messages=conversation).choices[0].message.content == "second answer"
    assert server.requests[1].messages[1] == {"role": "assistant", "content": "first answer"}


def test_missing_messages_and_streaming_are_rejected_before_any_request(server, make_llm):
    llm = make_llm()
    with pytest.raises(TypeError, match="messages"):
        llm()
    with pytest.raises(ValueError, match="stream"):
        llm("x", stream=True)
    assert server.requests == []


def test_deepcopy_and_pickle_give_working_llms(server, make_llm):
    server.add_replies("original", "deep copy", "unpickled")
    llm = make_llm(temperature=0.2)
    assert llm("x").choices[0].message.content == "original"
    clone = copy.deepcopy(llm)
    assert clone("x").choices[0].message.content == "deep copy"
    restored = pickle.loads(pickle.dumps(llm))
    assert restored("x").choices[0].message.content == "unpickled"
    assert [r.body["temperature"] for r in server.requests] == [0.2, 0.2, 0.2]
    assert {k.lower(): v for k, v in server.requests[1].headers.items()}["authorization"] == "Bearer test-key"


def test_repr_shows_model_endpoint_and_modes(server, tmp_path):
    llm = LLM("m", base_url=server.base_url, cache=tmp_path / "c.sqlite3", record=tmp_path / "r.jsonl")
    text = repr(llm)
    assert text.startswith("LLM(model='m', base_url='http://127.0.0.1:")
    assert "c.sqlite3" in text and "r.jsonl" in text
    assert repr(LLM()) == "LLM(model=None)"


def test_client_options_reach_the_openai_client(server, make_llm):
    server.add_replies("ok")
    make_llm(client_options={"default_headers": {"X-Team": "trace"}})("x")
    assert {k.lower(): v for k, v in server.requests[0].headers.items()}["x-team"] == "trace"
