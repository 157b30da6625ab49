"""The opt-in SQLite response cache: keys, bypass, defaults, and several threads and processes."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from trace_workbench.llm import LLM, ResponseCache
from trace_workbench.llm.keys import request_key

from .support import run_python, user


def test_a_repeated_request_is_answered_from_the_cache(server, make_llm, tmp_path):
    server.add_replies("cached answer", "fresh answer")
    llm = make_llm(cache=tmp_path / "cache.sqlite3")
    first = llm("same question", temperature=0)
    second = llm("same question", temperature=0)
    assert first.choices[0].message.content == second.choices[0].message.content == "cached answer"
    assert second.usage.prompt_tokens == first.usage.prompt_tokens
    assert len(server.requests) == 1
    assert [c.source for c in llm.meter.calls] == ["api", "cache"]


def test_the_cache_survives_a_new_llm_instance(server, make_llm, tmp_path):
    server.add_replies("stored")
    make_llm(cache=tmp_path / "c.sqlite3")("question")
    again = LLM("test-model", cache=tmp_path / "c.sqlite3", base_url="http://127.0.0.1:9/v1")
    assert again("question").choices[0].message.content == "stored"
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "change",
    [{"messages": user("another question")}, {"model": "other-model"}, {"temperature": 0.9}, {"n": 2}],
    ids=["messages", "model", "temperature", "n"],
)
def test_model_messages_and_settings_are_part_of_the_key(server, make_llm, tmp_path, change):
    server.add_replies("first", "second", "third")
    llm = make_llm(cache=tmp_path / "cache.sqlite3")
    request = {"messages": user("question"), "temperature": 0, **change}
    llm(messages=user("question"), temperature=0)
    reply = llm(**request)
    assert reply.choices[0].message.content == "second"
    assert len(server.requests) == 2


def test_dict_key_order_and_transport_options_do_not_change_the_key(server, make_llm, tmp_path):
    server.add_replies("one answer")
    llm = make_llm(cache=tmp_path / "cache.sqlite3")
    llm(messages=[{"role": "user", "content": "q"}], response_format={"type": "json_object"})
    reply = llm(messages=[{"content": "q", "role": "user"}], response_format={"type": "json_object"}, timeout=3)
    assert reply.choices[0].message.content == "one answer"
    assert len(server.requests) == 1
    assert request_key("m", user("q"), {"a": 1, "b": 2}) == request_key("m", user("q"), {"b": 2, "a": 1})


def test_cache_false_per_call_neither_reads_nor_writes(server, make_llm, tmp_path):
    server.add_replies("cached", "bypassed", "not written")
    llm = make_llm(cache=tmp_path / "cache.sqlite3")
    llm("q")
    assert llm("q", cache=False).choices[0].message.content == "bypassed"
    assert llm("new", cache=False).choices[0].message.content == "not written"
    assert len(server.requests) == 3
    assert len(llm.cache) == 1


def test_cache_is_off_unless_asked_for(server, make_llm):
    server.add_replies("a", "b")
    llm = make_llm()
    assert llm.cache is None
    assert [llm("q").choices[0].message.content for _ in range(2)] == ["a", "b"]


def test_cache_true_uses_the_default_path_in_the_working_directory(server, make_llm, tmp_path):
    server.add_replies("x")
    llm = make_llm(cache=True)
    llm("q")
    assert llm.cache.path == Path(".trace_workbench/llm_cache.sqlite3")
    assert (tmp_path / ".trace_workbench" / "llm_cache.sqlite3").exists()


def test_cache_from_the_environment_and_off_by_argument(server, make_llm, monkeypatch, tmp_path):
    monkeypatch.setenv("TRACE_WORKBENCH_CACHE", str(tmp_path / "env-cache.sqlite3"))
    assert make_llm().cache.path == tmp_path / "env-cache.sqlite3"
    assert make_llm(cache=False).cache is None
    monkeypatch.setenv("TRACE_WORKBENCH_CACHE", "1")
    assert make_llm().cache.path == Path(".trace_workbench/llm_cache.sqlite3")
    monkeypatch.setenv("TRACE_WORKBENCH_CACHE", "0")
    assert make_llm().cache is None


def test_a_shared_cache_object_can_be_passed(server, make_llm, tmp_path):
    server.add_replies("shared")
    cache = ResponseCache(tmp_path / "shared.sqlite3")
    make_llm(cache=cache)("q")
    assert make_llm(cache=cache)("q").choices[0].message.content == "shared"
    assert len(server.requests) == 1


def test_the_cache_file_is_sqlite_in_wal_mode_and_readable(server, make_llm, tmp_path):
    server.add_replies("inspect me")
    path = tmp_path / "cache.sqlite3"
    make_llm(cache=path)("q", temperature=0)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        model, request, response = conn.execute("SELECT model, request, response FROM responses").fetchone()
    assert model == "test-model"
    assert '"temperature": 0' in request and "inspect me" in response
    cache = ResponseCache(path)
    cache.clear()
    assert len(cache) == 0


def test_many_threads_share_one_cache(tmp_path):
    cache = ResponseCache(tmp_path / "threads.sqlite3")

    def work(i: int) -> dict | None:
        cache.put(f"k{i}", "m", {"i": i}, {"value": i})
        return cache.get(f"k{i}")

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(work, range(200)))
    assert results == [{"value": i} for i in range(200)]
    assert len(cache) == 200


def test_several_processes_create_and_write_the_same_cache(tmp_path):
    path = tmp_path / "processes.sqlite3"
    code = (
        "import sys\n"
        "from trace_workbench.llm import ResponseCache\n"
        "cache = ResponseCache(sys.argv[1])\n"
        "for i in range(200):\n"
        "    cache.put(f'{sys.argv[2]}-{i}', 'm', {}, {'i': i})\n"
    )
    with ThreadPoolExecutor(max_workers=3) as runner:
        results = list(runner.map(lambda name: run_python(code, str(path), name), ["a", "b", "c"]))
    assert [r.returncode for r in results] == [0, 0, 0], [r.stderr for r in results]
    cache = ResponseCache(path)
    assert len(cache) == 600
    assert cache.get("a-199") == {"i": 199} and cache.get("c-0") == {"i": 0}
