"""Several threads calling one LLM at once, against the real local server."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from .support import user


def test_concurrent_calls_each_get_their_own_answer(server, make_llm, tmp_path):
    server.responder = lambda body: "echo " + body["messages"][-1]["content"]
    llm = make_llm(cache=tmp_path / "cache.sqlite3", record=tmp_path / "record.jsonl")
    questions = [f"question-{i}" for i in range(60)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda q: llm(messages=user(q)).choices[0].message.content, questions))
    assert answers == [f"echo {q}" for q in questions]
    assert llm.meter.summary().calls == 60
    assert len(server.requests) == 60
    assert len(llm.cache) == 60
    assert len((tmp_path / "record.jsonl").read_text().splitlines()) == 60
    with ThreadPoolExecutor(max_workers=12) as pool:
        again = list(pool.map(lambda q: llm(messages=user(q)).choices[0].message.content, questions))
    assert again == answers
    assert len(server.requests) == 60
    assert llm.meter.summary().cached_calls == 60


def test_concurrent_calls_survive_faults(server, make_llm):
    server.responder = lambda body: "ok " + body["messages"][-1]["content"]
    server.rate_limit(retry_after=0.01, times=4)
    server.fail(500, "flaky", times=3, headers={"Retry-After": "0.01"})
    llm = make_llm(max_retries=5)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda i: llm(f"n{i}").choices[0].message.content, range(24)))
    assert answers == [f"ok n{i}" for i in range(24)]
    assert len(server.requests) == 24 + 7
