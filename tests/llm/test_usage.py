"""Usage accounting: tokens, latency and cost per call, per step and per session."""

from __future__ import annotations

import copy
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from trace_workbench.llm import PRICES, CallUsage, UsageMeter, UsageSummary


def call(model: str = "m", prompt: int = 10, completion: int = 5, cost: float | None = 0.001,
         source: str = "api") -> CallUsage:
    return CallUsage(model=model, prompt_tokens=prompt, completion_tokens=completion, latency=0.5, cost=cost,
                     source=source)


def test_each_call_records_tokens_latency_and_cost(server, make_llm):
    server.add_replies("two words")
    llm = make_llm(prices={"test-model": (2.0, 8.0)})
    llm("one two three")
    (usage,) = llm.meter.calls
    assert (usage.model, usage.prompt_tokens, usage.completion_tokens) == ("test-model", 3, 2)
    assert usage.total_tokens == 5
    assert usage.cost == pytest.approx((3 * 2.0 + 2 * 8.0) / 1_000_000)
    assert 0 < usage.latency < 5
    assert usage.source == "api" and not usage.cached


def test_an_unknown_model_has_no_cost_not_a_guess(server, make_llm):
    server.add_replies("a", "b")
    llm = make_llm(prices={"other-model": (1.0, 1.0)})
    llm("x")
    assert llm.meter.calls[0].cost is None
    summary = llm.meter.summary()
    assert summary.cost is None and summary.unpriced_calls == 1
    assert "cost unknown" in str(summary)


def test_the_response_model_name_is_priced_when_the_requested_one_is_not(server, make_llm):
    body = {"id": "x", "object": "chat.completion", "created": 0, "model": "gpt-x-2025-01-01",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1000, "completion_tokens": 0, "total_tokens": 1000}}
    server.add_replies(body)
    llm = make_llm(model="gpt-x", prices={"gpt-x-2025-01-01": (3.0, 0.0)})
    llm("x")
    assert llm.meter.calls[0].cost == pytest.approx(0.003)


def test_a_response_without_usage_counts_zero_tokens_and_unknown_cost(server, make_llm):
    body = {"id": "x", "object": "chat.completion", "created": 0, "model": "test-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}
    server.add_replies(body)
    llm = make_llm(prices={"test-model": (1.0, 1.0)})
    llm("x")
    (usage,) = llm.meter.calls
    assert (usage.prompt_tokens, usage.completion_tokens, usage.cost) == (0, 0, None)


def test_the_default_price_table_applies_to_every_meter(server, make_llm, monkeypatch):
    monkeypatch.setitem(PRICES, "test-model", (1.0, 1.0))
    server.add_replies("a")
    llm = make_llm()
    llm("x y")
    assert llm.meter.calls[0].cost == pytest.approx(3 / 1_000_000)
    assert UsageMeter(prices={"test-model": (5.0, 5.0)}).price("test-model") == (5.0, 5.0)


def test_cache_hits_are_calls_with_zero_cost_marked_cached(server, make_llm, tmp_path):
    server.add_replies("once")
    llm = make_llm(cache=tmp_path / "c.sqlite3", prices={"test-model": (1.0, 1.0)})
    llm("q")
    llm("q")
    api, hit = llm.meter.calls
    assert api.cost > 0 and not api.cached
    assert hit.cost == 0.0 and hit.cached and hit.source == "cache"
    summary = llm.meter.summary()
    assert (summary.calls, summary.cached_calls) == (2, 1)
    assert summary.cost == pytest.approx(api.cost)


def test_steps_group_the_calls_made_inside_them(server, make_llm):
    server.add_replies("before", "s1-a", "s1-b", "s2", "after")
    llm = make_llm()
    llm("before")
    with llm.meter.step("step 1") as first:
        llm("a")
        llm("b")
        assert first.ended is None and "open" in repr(first)
    with llm.meter.step("step 2") as second:
        llm("c")
    llm("after")
    assert [s.name for s in llm.meter.steps] == ["step 1", "step 2"]
    assert first.summary.calls == 2 and second.summary.calls == 1
    assert [c.completion_tokens for c in first.calls] == [1, 1]
    assert first.ended is not None and first.ended >= first.started
    assert llm.meter.summary().calls == 5


def test_steps_collect_calls_from_worker_threads(server, make_llm):
    server.responder = lambda body: "ok"
    llm = make_llm()
    with llm.meter.step("parallel") as step, ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda i: llm(f"q{i}"), range(8)))
    assert step.summary.calls == 8


def test_program_and_optimizer_meters_are_separate_and_share_a_session_parent(server, make_llm):
    server.responder = lambda body: "reply"
    session = UsageMeter("session", prices={"test-model": (1.0, 1.0)})
    program = make_llm(meter=UsageMeter("program", parent=session))
    optimizer = make_llm(meter=UsageMeter("optimizer", parent=session))
    program("run the program")
    with session.step("optimizer step 1") as session_step, optimizer.meter.step("step 1") as optimizer_step:
        optimizer("propose a change")
        program("run it again")
    assert program.meter.summary().calls == 2
    assert optimizer.meter.summary().calls == 1
    assert optimizer_step.summary.calls == 1
    assert session.summary().calls == 3
    assert session_step.summary.calls == 2
    assert program.meter.calls[0].cost is not None  # priced by the parent's table


def test_summary_arithmetic_and_text():
    summary = UsageSummary.of([call(cost=0.25), call(prompt=1, completion=1, cost=0.0, source="replay")])
    assert (summary.calls, summary.cached_calls) == (2, 1)
    assert (summary.prompt_tokens, summary.completion_tokens, summary.total_tokens) == (11, 6, 17)
    assert summary.latency == pytest.approx(1.0)
    assert summary.cost == pytest.approx(0.25)
    assert str(summary) == "2 calls (1 cached), 11 prompt + 6 completion tokens, 1.00 s, $0.2500"
    assert UsageSummary.of([]) == UsageSummary()


def test_meter_records_safely_from_many_threads():
    parent = UsageMeter("parent")
    meter = UsageMeter("child", parent=parent)
    barrier = threading.Barrier(8)

    def work(_: int) -> None:
        barrier.wait()
        for _ in range(250):
            meter.record(call())

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(work, range(8)))
    assert meter.summary().calls == 2000
    assert parent.summary().prompt_tokens == 20000


def test_meters_copy_pickle_and_reset():
    meter = UsageMeter("m", prices={"m": (1.0, 2.0)})
    with meter.step("s"):
        meter.record(call())
    for clone in (copy.deepcopy(meter), pickle.loads(pickle.dumps(meter))):
        assert clone.summary().calls == 1 and clone.steps[0].summary.calls == 1
        clone.record(call())
        assert clone.summary().calls == 2
    assert meter.summary().calls == 1
    meter.reset()
    assert meter.calls == [] and meter.steps == []
    assert meter.cost("m", 1_000_000, 1_000_000) == pytest.approx(3.0)
    assert meter.cost("unknown", 1, 1) is None


def test_a_long_run_keeps_the_last_calls_and_steps_and_every_total(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(UsageMeter, "keep", 10)
    meter = UsageMeter("run")
    for i in range(25):
        with meter.step(f"step {i}"):
            meter.record(call(prompt=i, cost=0.5))
    assert [c.prompt_tokens for c in meter.calls] == list(range(15, 25))
    assert [s.name for s in meter.steps] == [f"step {i}" for i in range(15, 25)]
    summary = meter.summary()
    assert (summary.calls, summary.prompt_tokens, summary.completion_tokens) == (25, sum(range(25)), 125)
    assert summary.cost == pytest.approx(12.5)
    meter.record(call(cost=None))
    assert meter.summary().cost is None and meter.summary().unpriced_calls == 1
    meter.reset()
    assert meter.summary() == UsageSummary()
