"""Record real responses to a JSON Lines file, then answer from it offline."""

from __future__ import annotations

import json

import pytest

from trace_workbench.llm import LLM, LLMConfigError, ReplayMissError

from .support import user


def read_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_record_writes_one_readable_line_per_request(server, make_llm, tmp_path):
    server.add_replies("Paris", "Rome")
    path = tmp_path / "replies.jsonl"
    llm = make_llm(record=path, temperature=0)
    llm("Capital of France?")
    llm("Capital of Italy?", max_tokens=5)
    first, second = read_lines(path)
    assert list(first) == ["key", "model", "messages", "settings", "content", "finish_reason", "usage"]
    assert first["model"] == "test-model"
    assert first["messages"] == user("Capital of France?")
    assert first["settings"] == {"temperature": 0}
    assert first["content"] == "Paris"
    assert first["finish_reason"] == "stop"
    assert first["usage"]["prompt_tokens"] == 3 and first["usage"]["completion_tokens"] == 1
    assert len(first["key"]) == 64
    assert second["settings"] == {"temperature": 0, "max_tokens": 5}
    assert second["content"] == "Rome"


def test_replay_answers_offline_with_nothing_configured(server, make_llm, tmp_path):
    server.add_replies("Paris", "one", "two")
    path = tmp_path / "replies.jsonl"
    recorder = make_llm(record=path)
    recorded = [recorder("Capital of France?"), recorder("Pick two", n=2)]
    offline = LLM(replay=path)
    replayed = [offline("Capital of France?"), offline("Pick two", n=2)]
    assert replayed[0].choices[0].message.content == "Paris"
    assert [c.message.content for c in replayed[1].choices] == ["one", "two"]
    assert replayed[0].usage.prompt_tokens == recorded[0].usage.prompt_tokens
    assert replayed[0].model == "test-model"
    assert len(server.requests) == 2
    assert [(c.source, c.cost) for c in offline.meter.calls] == [("replay", 0.0), ("replay", 0.0)]


def test_a_replay_miss_names_the_file_and_the_last_user_message(tmp_path):
    path = tmp_path / "replies.jsonl"
    path.write_text("", encoding="utf-8")
    long_question = "Please summarise the following very long document about trace optimisation " * 3
    messages = [{"role": "user", "content": "earlier"}, {"role": "assistant", "content": "ok"},
                {"role": "user", "content": long_question}]
    with pytest.raises(ReplayMissError) as caught:
        LLM(replay=path)(messages=messages)
    err = caught.value
    assert err.path == str(path)
    assert str(path) in str(err)
    assert err.preview.startswith("Please summarise the following") and err.preview.endswith("…")
    assert len(err.preview) == 60
    assert err.preview in str(err)
    assert "TRACE_WORKBENCH_RECORD" in str(err)


def test_a_missing_replay_file_says_so(tmp_path):
    with pytest.raises(ReplayMissError, match="does not exist"):
        LLM(replay=tmp_path / "nowhere.jsonl")("hi")


def test_repeated_requests_replay_in_recorded_order_then_repeat_the_last(server, make_llm, tmp_path):
    server.add_replies("first draft", "second draft")
    path = tmp_path / "replies.jsonl"
    recorder = make_llm(record=path, temperature=1.0)
    recorder("Write a line")
    recorder("Write a line")
    offline = LLM(replay=path, temperature=1.0)
    answers = [offline("Write a line").choices[0].message.content for _ in range(3)]
    assert answers == ["first draft", "second draft", "second draft"]
    with pytest.raises(ReplayMissError):
        LLM(replay=path)("Write a line")  # other settings: a different request


def test_replay_matches_the_model_when_one_is_set(server, make_llm, tmp_path):
    server.add_replies("answer")
    path = tmp_path / "replies.jsonl"
    make_llm(record=path)("q")
    assert LLM("test-model", replay=path)("q").choices[0].message.content == "answer"
    with pytest.raises(ReplayMissError, match="model 'other-model'"):
        LLM("other-model", replay=path)("q")


def test_record_and_replay_from_the_environment(server, make_llm, monkeypatch, tmp_path):
    server.add_replies("via env", "live")
    path = tmp_path / "env.jsonl"
    monkeypatch.setenv("TRACE_WORKBENCH_RECORD", str(path))
    make_llm()("q")
    monkeypatch.delenv("TRACE_WORKBENCH_RECORD")
    monkeypatch.setenv("TRACE_WORKBENCH_REPLAY", str(path))
    assert LLM()("q").choices[0].message.content == "via env"
    assert make_llm(replay=False)("q").choices[0].message.content == "live"
    assert len(server.requests) == 2
    monkeypatch.setenv("TRACE_WORKBENCH_RECORD", str(path))
    with pytest.raises(LLMConfigError, match="choose one"):
        LLM()


def test_cache_hits_are_recorded_too_so_replay_is_complete(server, make_llm, tmp_path):
    server.add_replies("cached")
    cache, path = tmp_path / "cache.sqlite3", tmp_path / "replies.jsonl"
    make_llm(cache=cache)("q")
    make_llm(cache=cache, record=path)("q")
    assert len(server.requests) == 1
    assert [line["content"] for line in read_lines(path)] == ["cached"]


def test_tool_calls_keep_the_full_response(server, make_llm, tmp_path):
    response = {
        "id": "chatcmpl-tools",
        "object": "chat.completion",
        "created": 1,
        "model": "test-model",
        "choices": [{
            "index": 0,
            "finish_reason": "tool_calls",
            "message": {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1}'}}
            ]},
        }],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
    server.add_replies(response)
    path = tmp_path / "replies.jsonl"
    make_llm(record=path)("add one")
    (line,) = read_lines(path)
    assert line["content"] is None and line["finish_reason"] == "tool_calls"
    assert line["response"]["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "add"
    call = LLM(replay=path)("add one").choices[0].message.tool_calls[0]
    assert (call.function.name, call.function.arguments) == ("add", '{"a": 1}')


def test_a_broken_replay_line_is_reported_with_its_number(tmp_path):
    path = tmp_path / "broken.jsonl"
    good = {"model": "m", "messages": user("q"), "settings": {}, "content": "a"}
    path.write_text(json.dumps(good) + "\n\n{not json\n", encoding="utf-8")
    with pytest.raises(LLMConfigError, match=r"line 3"):
        LLM(replay=path)("q")


def test_a_hand_written_line_replays(tmp_path):
    path = tmp_path / "hand.jsonl"
    line = {"model": "m", "messages": user("q"), "settings": {}, "content": "written by hand"}
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    reply = LLM(replay=path)("q")
    assert reply.choices[0].message.content == "written by hand"
    assert reply.usage is None
