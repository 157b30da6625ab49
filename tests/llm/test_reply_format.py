"""Asking for the best reply shape a server accepts, against the scripted server: a refusal about
response_format moves to the next shape (and is remembered for the endpoint); other errors do not."""

from __future__ import annotations

import pytest

from trace_workbench.llm import LLMAuthError, LLMRequestError
from trace_workbench.llm.reply_format import ReplyShape, ask, is_response_format_error, refused_shapes

SCHEMA = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 10}}, "required": ["a"],
          "additionalProperties": False}
UNBOUNDED = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
             "additionalProperties": False}
SHAPES = [ReplyShape("json_schema", {"type": "json_schema", "json_schema": {"name": "r", "strict": True,
                                                                           "schema": SCHEMA}}),
          ReplyShape("json_schema without bounds", {"type": "json_schema", "json_schema": {"name": "r", "strict": True,
                                                                                           "schema": UNBOUNDED}}),
          ReplyShape("json_object", {"type": "json_object"}),
          ReplyShape("text", None)]
MESSAGES = [{"role": "user", "content": "q"}]


@pytest.fixture
def llm(make_llm):
    return make_llm(max_retries=0)


def shapes_sent(server) -> list[str]:
    return [(r.body.get("response_format") or {}).get("type", "text") for r in server.completion_requests]


def test_a_server_that_accepts_the_schema_is_asked_once(server, llm):
    server.add_replies('{"a": "x"}')
    ask(llm, MESSAGES, SHAPES)
    (request,) = server.completion_requests
    assert request.body["response_format"]["json_schema"]["schema"] == SCHEMA


def test_refused_keyword_is_dropped_then_the_schema_is_kept(server, llm):
    server.refuse_response_format(keywords=["maxLength"])
    server.add_replies('{"a": "x"}', '{"a": "y"}')
    ask(llm, MESSAGES, SHAPES, max_tokens=50)
    ask(llm, MESSAGES, SHAPES, max_tokens=50)

    schemas = [r.body["response_format"]["json_schema"]["schema"] for r in server.completion_requests]
    assert schemas == [SCHEMA, UNBOUNDED, UNBOUNDED]  # the second call goes straight to what worked
    assert all(r.body["max_tokens"] == 50 for r in server.completion_requests)
    assert refused_shapes(llm) == {"json_schema"}


def test_no_json_schema_falls_back_to_json_object_then_text(server, llm):
    server.refuse_response_format("json_schema")
    server.add_replies('{"a": "x"}')
    ask(llm, MESSAGES, SHAPES)
    assert shapes_sent(server) == ["json_schema", "json_schema", "json_object"]

    server.refuse_response_format("json_object")
    server.add_replies("free text")
    assert ask(llm, MESSAGES, SHAPES).choices[0].message.content == "free text"
    assert shapes_sent(server)[3:] == ["json_object", "text"]


def test_unknown_model_is_not_asked_again_in_another_shape(server, llm):
    server.fail(404, "The model `test-model` does not exist")
    with pytest.raises(LLMRequestError) as raised:
        ask(llm, MESSAGES, SHAPES)
    assert raised.value.status_code == 404
    assert shapes_sent(server) == ["json_schema"]
    assert refused_shapes(llm) == set()


def test_context_length_error_is_not_asked_again_in_another_shape(server, llm):
    server.fail(400, "request (9031 tokens) exceeds the available context size (8192 tokens), try increasing it")
    with pytest.raises(LLMRequestError, match="context size"):
        ask(llm, MESSAGES, SHAPES)
    assert shapes_sent(server) == ["json_schema"]


def test_bad_key_is_not_asked_again(server, llm):
    server.fail(401, "Invalid API key (response_format ignored)")
    with pytest.raises(LLMAuthError):
        ask(llm, MESSAGES, SHAPES)
    assert len(server.completion_requests) == 1


def test_a_callable_without_response_format_gets_free_text():
    calls = []

    def plain_llm(messages, max_tokens=None):
        calls.append(max_tokens)
        return "reply"

    assert ask(plain_llm, MESSAGES, SHAPES, max_tokens=7) == "reply"
    assert calls == [7]
    assert is_response_format_error(TypeError("plain_llm() got an unexpected keyword argument 'response_format'"))
    assert not is_response_format_error(TypeError("unsupported operand"))
