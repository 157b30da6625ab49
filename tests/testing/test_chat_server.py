"""The scripted chat server, exercised through the real openai client over real HTTP."""

from __future__ import annotations

import json
import threading
import time

import openai
import pytest

from trace_workbench.testing import ChatServer, Fault, count_tokens


def client(server: ChatServer, **kwargs) -> openai.OpenAI:
    options = {"base_url": server.base_url, "api_key": "test-key", "max_retries": 0, "timeout": 5.0}
    options.update(kwargs)
    return openai.OpenAI(**options)


def ask(server: ChatServer, text: str = "Hello there", **kwargs):
    return client(server).chat.completions.create(
        model="test-model", messages=[{"role": "user", "content": text}], **kwargs
    )


def test_replies_are_consumed_in_order_as_valid_chat_completions():
    with ChatServer(["first", "second"]) as server:
        one, two = ask(server), ask(server)
    assert [one.choices[0].message.content, two.choices[0].message.content] == ["first", "second"]
    assert one.object == "chat.completion"
    assert one.model == "test-model"
    assert one.id != two.id
    assert one.choices[0].finish_reason == "stop"
    assert one.choices[0].message.role == "assistant"
    assert abs(one.created - time.time()) < 60


def test_usage_counts_whitespace_separated_words():
    with ChatServer(["three word reply"]) as server:
        reply = client(server).chat.completions.create(
            model="m",
            messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "one two three four"}],
        )
    assert reply.usage.prompt_tokens == 6
    assert reply.usage.completion_tokens == 3
    assert reply.usage.total_tokens == 9
    assert count_tokens("  a  b\nc ") == 3
    assert count_tokens(None) == 0


def test_responder_answers_from_the_parsed_request_after_the_list_runs_out():
    seen = []

    def responder(body):
        seen.append(body)
        return body["messages"][-1]["content"].upper()

    with ChatServer(["scripted"], responder=responder) as server:
        assert ask(server, "first").choices[0].message.content == "scripted"
        assert ask(server, "shout this").choices[0].message.content == "SHOUT THIS"
    assert [body["messages"][-1]["content"] for body in seen] == ["shout this"]
    assert seen[0]["model"] == "test-model"


def test_a_dict_reply_is_sent_as_the_whole_response_body():
    body = {
        "id": "chatcmpl-custom",
        "object": "chat.completion",
        "created": 1,
        "model": "custom-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "custom"}, "finish_reason": "length"}],
    }
    with ChatServer(responder=lambda request: body) as server:
        reply = ask(server)
    assert reply.id == "chatcmpl-custom"
    assert reply.model == "custom-model"
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is None


def test_n_greater_than_one_gives_one_choice_per_reply():
    with ChatServer(["a", "b", "c"]) as server:
        reply = ask(server, n=3)
    assert [c.message.content for c in reply.choices] == ["a", "b", "c"]
    assert [c.index for c in reply.choices] == [0, 1, 2]
    assert reply.usage.completion_tokens == 3


def test_requests_are_recorded_with_parsed_bodies_and_headers():
    with ChatServer(["ok"]) as server:
        ask(server, "remember me", temperature=0.5)
    (request,) = server.requests
    assert request.method == "POST"
    assert request.path == "/v1/chat/completions"
    assert request.body["temperature"] == 0.5
    assert request.messages == [{"role": "user", "content": "remember me"}]
    assert request.last_user_message == "remember me"
    assert {k.lower(): v for k, v in request.headers.items()}["authorization"] == "Bearer test-key"
    assert server.completion_requests == [request]


def test_models_endpoint_lists_the_server_model():
    with ChatServer(model="tiny") as server:
        models = client(server).models.list()
    assert [m.id for m in models.data] == ["tiny"]
    assert server.requests[0].method == "GET"


def test_rate_limit_fault_answers_429_with_retry_after_and_keeps_the_reply():
    with ChatServer(["after the wait"]) as server:
        server.rate_limit(retry_after=7, message="slow down")
        with pytest.raises(openai.RateLimitError) as caught:
            ask(server)
        assert caught.value.response.headers["retry-after"] == "7"
        assert caught.value.body["message"] == "slow down"
        assert ask(server).choices[0].message.content == "after the wait"


def test_server_error_fault_answers_500_for_the_given_number_of_requests():
    with ChatServer(["fine"]) as server:
        server.fail(500, "boom", times=2)
        for _ in range(2):
            with pytest.raises(openai.InternalServerError, match="boom"):
                ask(server)
        assert ask(server).choices[0].message.content == "fine"
    assert len(server.requests) == 3


def test_client_retries_through_queued_faults():
    with ChatServer(["made it"]) as server:
        server.rate_limit(retry_after=0.01)
        server.fail(503, "unavailable", headers={"Retry-After": "0.01"})
        reply = client(server, max_retries=2).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}]
        )
    assert reply.choices[0].message.content == "made it"
    assert [r.headers.get("x-stainless-retry-count") for r in server.requests] == ["0", "1", "2"]


def test_slow_fault_replies_after_the_client_timeout():
    with ChatServer(["never used"]) as server:
        server.slow(600)  # the client gives up long before: its timeout, not the reply, ends the call
        with pytest.raises(openai.APITimeoutError):
            client(server, timeout=0.3).chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        assert ask(server).choices[0].message.content == "never used"


def test_slow_fault_within_the_timeout_delivers_its_content():
    with ChatServer() as server:
        server.slow(0.2, content="late but here")
        assert ask(server).choices[0].message.content == "late but here"
        assert len(server.completion_requests) == 1  # one request, answered by the slow fault


def test_malformed_fault_sends_a_body_that_is_not_json():
    with ChatServer() as server:
        server.malformed()
        with pytest.raises(json.JSONDecodeError):
            ask(server)


def test_drop_fault_closes_the_connection_without_a_response():
    with ChatServer(["second try"]) as server:
        server.drop()
        with pytest.raises(openai.APIConnectionError) as caught:
            ask(server)
        assert not isinstance(caught.value, openai.APITimeoutError)
        assert ask(server).choices[0].message.content == "second try"


def test_exhausted_script_fails_clearly_without_inviting_retries():
    with ChatServer(["only one"]) as server:
        ask(server)
        with pytest.raises(openai.InternalServerError, match="script exhausted.*'what now'"):
            client(server, max_retries=3).chat.completions.create(
                model="m", messages=[{"role": "user", "content": "what now"}]
            )
    assert len(server.requests) == 2


def test_a_failing_responder_is_reported_to_the_client():
    def responder(body):
        raise RuntimeError("responder bug")

    with ChatServer(responder=responder) as server, pytest.raises(openai.InternalServerError, match="responder bug"):
        ask(server)


def test_bad_requests_and_unknown_paths_get_openai_style_errors():
    with ChatServer(["x"]) as server:
        http = client(server)
        with pytest.raises(openai.NotFoundError, match="Unknown path"):
            http.post("/embeddings", cast_to=object, body={"input": "x"})
        with pytest.raises(openai.BadRequestError, match="messages"):
            http.post("/chat/completions", cast_to=object, body={"model": "m"})


def test_added_replies_and_custom_faults_are_used():
    with ChatServer() as server:
        server.add_replies("added")
        server.add_fault(Fault("status", status=404, message="no such model"))
        with pytest.raises(openai.NotFoundError, match="no such model"):
            ask(server)
        assert ask(server).choices[0].message.content == "added"
    with pytest.raises(ValueError, match="kind"):
        Fault("explode")


def test_lifecycle_base_url_env_and_stop_while_a_reply_is_slow():
    server = ChatServer(model="env-model")
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.base_url
    assert server.start() is server
    assert server.start() is server
    assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
    assert server.env() == {"OPENAI_BASE_URL": server.base_url, "TRACE_WORKBENCH_MODEL": "env-model"}
    server.slow(600)
    with pytest.raises(openai.APITimeoutError):
        client(server, timeout=0.2).chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    waiting = [t for t in threading.enumerate() if "process_request" in t.name]
    assert waiting  # the slow reply's handler still waits for its 600 s
    old_client = client(server)
    server.stop()
    server.stop()
    for handler in waiting:  # stop() woke it: it ends now, not after 600 s
        handler.join(60)
        assert not handler.is_alive()
    with pytest.raises(openai.APIConnectionError):
        old_client.models.list()
    with server:
        assert [m.id for m in client(server).models.list().data] == ["env-model"]
